// The step's input buffer (layout in kernel/kernel.h): the entries, then each entry's RoPE rotation.
//
// RoPE's angles are made here, on the host, for both the simulated card and the XRT card: the card then
// needs no powf/sinf/cosf cores, and the model's RoPE base (and any frequency scaling) is the host's
// business alone.
#pragma once

#include <cstdint>
#include <vector>

#include "fpga/device.h"
#include "fpga/model_view.h"

namespace fpgaserve {

// The turning rate of pair f of a head (dimensions 2f, 2f + 1): theta^(-2f / head_size), divided as the
// model's RoPE scaling says (model_view.h). In float, as llama2.c's run.c computes it; the float reference
// (server/model/float_reference.cpp) uses the same function.
float RopeFrequency(const ModelConfig& config, int f);

// pairs[2f], pairs[2f + 1] = cos, sin of pos * RopeFrequency(f) for f < head_size / 2.
// REQUIRES: pairs holds head_size floats.
void FillRope(const ModelConfig& config, int pos, float* pairs);

// The kernel's input for `step` (kernel::kInputBytes, zeros where unused).
// REQUIRES: ValidateStep(step, ...) passed for a device holding `config`.
std::vector<uint8_t> BuildStepInput(const Step& step, const ModelConfig& config);

}  // namespace fpgaserve
