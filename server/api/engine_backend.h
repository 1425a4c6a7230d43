// EngineBackend: the Backend the server runs with, forwarding to one Engine (not owned; it must outlive
// this object).
#pragma once

#include "server/api/backend.h"
#include "server/engine/engine.h"

namespace fpgaserve {

class EngineBackend final : public Backend {
 public:
  explicit EngineBackend(Engine* engine) : engine_(engine) {}
  Result<std::shared_ptr<Stream>> Submit(SequenceRequest request) override {
    return engine_->Submit(std::move(request));
  }
  EngineState State() const override { return engine_->State(); }
  int context_length() const override { return engine_->context_length(); }
  void StartDrain() override { engine_->StartDrain(); }

 private:
  Engine* engine_;
};

}  // namespace fpgaserve
