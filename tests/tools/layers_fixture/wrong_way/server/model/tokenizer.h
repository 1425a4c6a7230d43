// Fixture: the model layer reaching up into HTTP, which tools/check_layers.py must refuse.
#pragma once

#include "base/status.h"
#include "server/api/backend.h"
