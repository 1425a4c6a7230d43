#include "fpga/q8_0.h"

#include <cmath>

namespace fpgaserve {

void QuantizeQ8_0(const float* w, size_t n, int group_size, int8_t* q, float* s) {
  const size_t gs = static_cast<size_t>(group_size);
  for (size_t g = 0; g < n / gs; g++) {
    float wmax = 0.0f;
    for (size_t i = 0; i < gs; i++) wmax = std::fmax(wmax, std::fabs(w[g * gs + i]));
    const float scale = wmax / 127.0f;
    s[g] = scale;
    for (size_t i = 0; i < gs; i++) {
      const float v = scale > 0.0f ? w[g * gs + i] / scale : 0.0f;
      q[g * gs + i] = static_cast<int8_t>(std::nearbyint(v));
    }
  }
}

void DequantizeQ8_0(const int8_t* q, const float* s, size_t n, int group_size, float* out) {
  for (size_t i = 0; i < n; i++) out[i] = static_cast<float>(q[i]) * s[i / static_cast<size_t>(group_size)];
}

int DefaultGroupSize(int dim) {
  int gs = 64;
  while (gs > 1 && dim % gs != 0) gs /= 2;
  return gs;
}

}  // namespace fpgaserve
