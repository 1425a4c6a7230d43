// Backend: what the HTTP layer needs from the engine, as an interface so that the HTTP layer's tests can
// fake it (a backend that fails, stalls or streams chosen events), as the scheduler's tests fake a Device.
// EngineBackend (engine_backend.h) is the production implementation, a thin forwarder to Engine.
//
// Threading: every method may be called from many HTTP threads at once.
#pragma once

#include <memory>

#include "server/engine/engine.h"

namespace fpgaserve {

class Backend {
 public:
  virtual ~Backend() = default;
  // As Engine::Submit: the sequence's Stream, or InvalidArgument / ResourceExhausted / Unavailable.
  virtual Result<std::shared_ptr<Stream>> Submit(SequenceRequest request) = 0;
  virtual EngineState State() const = 0;
  // Tokens of prompt + completion a sequence may hold.
  virtual int context_length() const = 0;
  // Stop accepting new sequences (SIGTERM).
  virtual void StartDrain() = 0;
};

}  // namespace fpgaserve
