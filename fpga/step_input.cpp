#include "fpga/step_input.h"

#include <cmath>
#include <cstring>

#include "kernel/kernel.h"

namespace fpgaserve {

float RopeFrequency(const ModelConfig& c, int f) {
  // float arithmetic throughout, as the kernel computed it before the table moved to the host.
  const float freq = 1.0f / powf(c.rope_theta, static_cast<float>(2 * f) / static_cast<float>(c.head_size()));
  switch (c.rope_scaling.kind) {
    case RopeScaling::kLinear: return freq / c.rope_scaling.factor;
    case RopeScaling::kPerFrequency: return freq / c.rope_scaling.divisors[f];
    case RopeScaling::kNone: break;
  }
  return freq;
}

void FillRope(const ModelConfig& c, int pos, float* pairs) {
  const int hs = c.head_size();
  for (int f = 0; f < hs / 2; f++) {
    const float angle = static_cast<float>(pos) * RopeFrequency(c, f);
    pairs[2 * f] = cosf(angle);
    pairs[2 * f + 1] = sinf(angle);
  }
}

std::vector<uint8_t> BuildStepInput(const Step& step, const ModelConfig& config) {
  std::vector<uint8_t> input(kernel::kInputBytes, 0);
  for (size_t i = 0; i < step.entries.size(); i++) {
    const StepEntry& e = step.entries[i];
    const int32_t fields[kernel::kEntryFields] = {e.token, e.pos, e.slot, e.out_row};
    std::memcpy(input.data() + i * sizeof fields, fields, sizeof fields);
    float* rope = reinterpret_cast<float*>(input.data() + kernel::kInputEntryBytes + i * kernel::kRopeBytes);
    FillRope(config, e.pos, rope);
  }
  return input;
}

}  // namespace fpgaserve
