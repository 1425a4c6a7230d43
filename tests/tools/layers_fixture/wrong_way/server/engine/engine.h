// Fixture: the engine may use model and base.
#pragma once

#include "base/status.h"
#include "server/model/tokenizer.h"
