// Q8_0 quantization, host side: symmetric int8 with one fp32 scale per group of `group_size` values,
// scale = max|w| / 127, rounding half to even (llama2.c's export and runq.c use the same rule, so files round-trip).
#pragma once

#include <cstddef>
#include <cstdint>

namespace fpgaserve {

// REQUIRES: n % group_size == 0. Writes n values to q and n / group_size scales to s.
void QuantizeQ8_0(const float* w, size_t n, int group_size, int8_t* q, float* s);

// The inverse: out[i] = q[i] * s[i / group_size].
void DequantizeQ8_0(const int8_t* q, const float* s, size_t n, int group_size, float* out);

// llama2.c's rule: 64, halved while it does not divide dim (the export's group size).
int DefaultGroupSize(int dim);

}  // namespace fpgaserve
