#include "server/cli/decode_timing.h"

#include <chrono>
#include <vector>

namespace fpgaserve::cli {

Result<double> DecodeTokensPerSecond(Device& card, int batch, int steps) {
  const int vocab = card.info().model.vocab_size;
  std::vector<float> logits(static_cast<size_t>(batch) * vocab);
  Step step;
  step.n_out_rows = batch;
  step.entries.resize(batch);
  auto pass = [&]() -> Status {
    for (int pos = 0; pos < steps; pos++) {
      for (int b = 0; b < batch; b++) step.entries[b] = {(b * 131 + pos * 17) % vocab, pos, b, b};
      if (Status st = card.Run(step, logits.data()); !st.ok()) return st;
    }
    return Status::Ok();
  };
  if (Status st = pass(); !st.ok()) return st;
  const auto start = std::chrono::steady_clock::now();
  if (Status st = pass(); !st.ok()) return st;
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return batch * steps / secs;
}

}  // namespace fpgaserve::cli
