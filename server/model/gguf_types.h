// ggml tensor types as GGUF files store them: their block layouts (for sizing any tensor) and the
// conversion to fp32 of those fpgaserve reads.
//
// A ggml type packs a row in blocks of `block_elements` values taking `block_bytes` bytes each; a row's
// length (dims[0]) is a whole number of blocks. Layouts of the types we decode (all little-endian; "fp16"
// is IEEE binary16, "bf16" the top half of a float32):
//   F32, F16, BF16  one value per element.
//   Q8_0  32 values: fp16 d, int8 q[32];                       x = d * q.
//   Q4_0  32 values: fp16 d, uint8 qs[16];                     x[j] = d * ((qs[j] & 15) - 8),
//                                                              x[j + 16] = d * ((qs[j] >> 4) - 8).
//   Q4_K  256 values in 8 sub-blocks of 32: fp16 d, fp16 dmin, uint8 scales[12] (8 6-bit scales and 8
//         6-bit mins, packed), uint8 qs[128];                  x = d * scale_s * q - dmin * min_s, q 4-bit.
//   Q5_K  as Q4_K plus uint8 qh[32] (the fifth bit) before qs.
//   Q6_K  256 values in 16 sub-blocks of 16: uint8 ql[128] (low 4 bits), uint8 qh[64] (high 2 bits),
//         int8 scales[16], fp16 d;                             x = d * scale_s * (q - 32), q 6-bit.
// The bit orders within a block follow ggml's reference dequantisation (read for understanding; this
// is our own code).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace fpgaserve {

enum class GgmlType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ8_1 = 9,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kQ8_K = 15,
  kIQ2_XXS = 16,
  kIQ2_XS = 17,
  kIQ3_XXS = 18,
  kIQ1_S = 19,
  kIQ4_NL = 20,
  kIQ3_S = 21,
  kIQ2_S = 22,
  kIQ4_XS = 23,
  kI8 = 24,
  kI16 = 25,
  kI32 = 26,
  kI64 = 27,
  kF64 = 28,
  kIQ1_M = 29,
  kBF16 = 30,
  kTQ1_0 = 34,
  kTQ2_0 = 35,
  kMXFP4 = 39,
};

struct GgmlLayout {
  uint32_t block_elements = 0;  // 0: not a type we know
  uint32_t block_bytes = 0;
};

// The layout of `type`, given as the raw number from a file; {0, 0} for numbers that are no (longer a)
// ggml type, so a reader can refuse them.
GgmlLayout GgmlTypeLayout(uint32_t type);

// "F32", "Q4_K"...; "unknown" for numbers GgmlTypeLayout does not know.
const char* GgmlTypeName(GgmlType type);

// The type GgmlTypeName calls `name` ("F32", "Q4_K"...). REQUIRES: `name` is one of GgmlTypeName's.
GgmlType GgmlTypeFromName(std::string_view name);

// Whether DequantizeRow handles `type`: F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K.
bool CanDequantize(GgmlType type);

// Decodes `n` values of `type` from `src` into `out`. REQUIRES: CanDequantize(type), n a multiple of the
// type's block_elements, `src` holding n / block_elements blocks (no alignment needed). Non-finite input
// (an fp16 infinity, say) gives non-finite output; callers check.
void DequantizeRow(GgmlType type, const uint8_t* src, size_t n, float* out);

// IEEE binary16 and bfloat16 bits to float, exactly (infinities and NaNs included).
float Fp16ToFloat(uint16_t h);
float Bf16ToFloat(uint16_t h);

}  // namespace fpgaserve
