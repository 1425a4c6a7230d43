// Fixture: http may use the engine, the model and base.
#pragma once

#include "base/status.h"
#include "server/engine/engine.h"
