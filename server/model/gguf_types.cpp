#include "server/model/gguf_types.h"

#include <bit>
#include <cstdlib>
#include <cstring>

#include "kernel/kernel.h"

namespace fpgaserve {
namespace {

uint16_t LoadU16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | p[1] << 8); }
float LoadFp16(const uint8_t* p) { return Fp16ToFloat(LoadU16(p)); }

void DequantizeQ8_0Blocks(const uint8_t* src, size_t blocks, float* out) {
  for (size_t b = 0; b < blocks; b++, src += 34, out += 32) {
    const float d = LoadFp16(src);
    for (int j = 0; j < 32; j++) out[j] = d * static_cast<float>(static_cast<int8_t>(src[2 + j]));
  }
}

void DequantizeQ4_0Blocks(const uint8_t* src, size_t blocks, float* out) {
  for (size_t b = 0; b < blocks; b++, src += 18, out += 32) {
    const float d = LoadFp16(src);
    const uint8_t* qs = src + 2;
    for (int j = 0; j < 16; j++) {
      out[j] = d * static_cast<float>((qs[j] & 15) - 8);
      out[j + 16] = d * static_cast<float>((qs[j] >> 4) - 8);
    }
  }
}

// The 6-bit scale and min of sub-block s (0..7) of a Q4_K/Q5_K block, from its 12 packed bytes: bytes
// 0-3 hold scales 0-3 (low 6 bits), bytes 4-7 mins 0-3; sub-blocks 4-7 keep their low 4 bits in bytes
// 8-11 (scale low nibble, min high nibble) and their top 2 bits in the spare top bits of bytes 0-7.
void ScaleMinK4(int s, const uint8_t* q, int* scale, int* min) {
  if (s < 4) {
    *scale = q[s] & 63;
    *min = q[s + 4] & 63;
  } else {
    *scale = (q[s + 4] & 15) | ((q[s - 4] >> 6) << 4);
    *min = (q[s + 4] >> 4) | ((q[s] >> 6) << 4);
  }
}

// Q4_K and Q5_K: 4 pairs of 32-value sub-blocks; a pair shares 32 bytes of qs (low nibbles for the first,
// high for the second) and, in Q5_K, bit 2p (first) and 2p+1 (second) of each qh byte.
void DequantizeQ45_KBlocks(bool five_bits, const uint8_t* src, size_t blocks, float* out) {
  const size_t block_bytes = five_bits ? 176 : 144;
  for (size_t b = 0; b < blocks; b++, src += block_bytes) {
    const float d = LoadFp16(src);
    const float dmin = LoadFp16(src + 2);
    const uint8_t* scales = src + 4;
    const uint8_t* qh = src + 16;
    const uint8_t* qs = src + (five_bits ? 48 : 16);
    for (int pair = 0; pair < 4; pair++, qs += 32) {
      for (int half = 0; half < 2; half++, out += 32) {
        int scale = 0;
        int min = 0;
        ScaleMinK4(2 * pair + half, scales, &scale, &min);
        const float mul = d * static_cast<float>(scale);
        const float sub = dmin * static_cast<float>(min);
        const int shift = 4 * half;
        const int hbit = 2 * pair + half;
        for (int l = 0; l < 32; l++) {
          int q = (qs[l] >> shift) & 15;
          if (five_bits && ((qh[l] >> hbit) & 1)) q += 16;
          out[l] = mul * static_cast<float>(q) - sub;
        }
      }
    }
  }
}

// Q6_K: two halves of 128 values; in half h, value 32k + l (k = 0..3, l = 0..31) takes its low nibble
// from ql[64h + l + 32 (k & 1)] (low nibble for k < 2, high for k >= 2) and its top two bits from bits
// 2k..2k+1 of qh[32h + l]; its scale is scales[8h + 2k + l / 16].
void DequantizeQ6_KBlocks(const uint8_t* src, size_t blocks, float* out) {
  for (size_t b = 0; b < blocks; b++, src += 210) {
    const uint8_t* ql = src;
    const uint8_t* qh = src + 128;
    const int8_t* scales = reinterpret_cast<const int8_t*>(src + 192);
    const float d = LoadFp16(src + 208);
    for (int h = 0; h < 2; h++) {
      for (int k = 0; k < 4; k++) {
        for (int l = 0; l < 32; l++) {
          const uint8_t low_byte = ql[64 * h + l + 32 * (k & 1)];
          const int low = k < 2 ? (low_byte & 15) : (low_byte >> 4);
          const int high = (qh[32 * h + l] >> (2 * k)) & 3;
          const int q = (low | high << 4) - 32;
          const float scale = static_cast<float>(scales[8 * h + 2 * k + l / 16]);
          *out++ = d * scale * static_cast<float>(q);
        }
      }
    }
  }
}

}  // namespace

GgmlLayout GgmlTypeLayout(uint32_t type) {
  switch (static_cast<GgmlType>(type)) {
    case GgmlType::kF32: return {1, 4};
    case GgmlType::kF16: return {1, 2};
    case GgmlType::kQ4_0: return {32, 18};
    case GgmlType::kQ4_1: return {32, 20};
    case GgmlType::kQ5_0: return {32, 22};
    case GgmlType::kQ5_1: return {32, 24};
    case GgmlType::kQ8_0: return {32, 34};
    case GgmlType::kQ8_1: return {32, 36};
    case GgmlType::kQ2_K: return {256, 84};
    case GgmlType::kQ3_K: return {256, 110};
    case GgmlType::kQ4_K: return {256, 144};
    case GgmlType::kQ5_K: return {256, 176};
    case GgmlType::kQ6_K: return {256, 210};
    case GgmlType::kQ8_K: return {256, 292};
    case GgmlType::kIQ2_XXS: return {256, 66};
    case GgmlType::kIQ2_XS: return {256, 74};
    case GgmlType::kIQ3_XXS: return {256, 98};
    case GgmlType::kIQ1_S: return {256, 50};
    case GgmlType::kIQ4_NL: return {32, 18};
    case GgmlType::kIQ3_S: return {256, 110};
    case GgmlType::kIQ2_S: return {256, 82};
    case GgmlType::kIQ4_XS: return {256, 136};
    case GgmlType::kI8: return {1, 1};
    case GgmlType::kI16: return {1, 2};
    case GgmlType::kI32: return {1, 4};
    case GgmlType::kI64: return {1, 8};
    case GgmlType::kF64: return {1, 8};
    case GgmlType::kIQ1_M: return {256, 56};
    case GgmlType::kBF16: return {1, 2};
    case GgmlType::kTQ1_0: return {256, 54};
    case GgmlType::kTQ2_0: return {256, 66};
    case GgmlType::kMXFP4: return {32, 17};
  }
  return {0, 0};
}

const char* GgmlTypeName(GgmlType type) {
  switch (type) {
    case GgmlType::kF32: return "F32";
    case GgmlType::kF16: return "F16";
    case GgmlType::kQ4_0: return "Q4_0";
    case GgmlType::kQ4_1: return "Q4_1";
    case GgmlType::kQ5_0: return "Q5_0";
    case GgmlType::kQ5_1: return "Q5_1";
    case GgmlType::kQ8_0: return "Q8_0";
    case GgmlType::kQ8_1: return "Q8_1";
    case GgmlType::kQ2_K: return "Q2_K";
    case GgmlType::kQ3_K: return "Q3_K";
    case GgmlType::kQ4_K: return "Q4_K";
    case GgmlType::kQ5_K: return "Q5_K";
    case GgmlType::kQ6_K: return "Q6_K";
    case GgmlType::kQ8_K: return "Q8_K";
    case GgmlType::kIQ2_XXS: return "IQ2_XXS";
    case GgmlType::kIQ2_XS: return "IQ2_XS";
    case GgmlType::kIQ3_XXS: return "IQ3_XXS";
    case GgmlType::kIQ1_S: return "IQ1_S";
    case GgmlType::kIQ4_NL: return "IQ4_NL";
    case GgmlType::kIQ3_S: return "IQ3_S";
    case GgmlType::kIQ2_S: return "IQ2_S";
    case GgmlType::kIQ4_XS: return "IQ4_XS";
    case GgmlType::kI8: return "I8";
    case GgmlType::kI16: return "I16";
    case GgmlType::kI32: return "I32";
    case GgmlType::kI64: return "I64";
    case GgmlType::kF64: return "F64";
    case GgmlType::kIQ1_M: return "IQ1_M";
    case GgmlType::kBF16: return "BF16";
    case GgmlType::kTQ1_0: return "TQ1_0";
    case GgmlType::kTQ2_0: return "TQ2_0";
    case GgmlType::kMXFP4: return "MXFP4";
  }
  return "unknown";
}

GgmlType GgmlTypeFromName(std::string_view name) {
  for (uint32_t t = 0; t < 64; t++) {
    if (GgmlTypeLayout(t).block_elements != 0 && name == GgmlTypeName(static_cast<GgmlType>(t))) {
      return static_cast<GgmlType>(t);
    }
  }
  std::abort();  // REQUIRES violated: not a name GgmlTypeName gives
}

bool CanDequantize(GgmlType type) {
  switch (type) {
    case GgmlType::kF32:
    case GgmlType::kF16:
    case GgmlType::kBF16:
    case GgmlType::kQ8_0:
    case GgmlType::kQ4_0:
    case GgmlType::kQ4_K:
    case GgmlType::kQ5_K:
    case GgmlType::kQ6_K: return true;
    default: return false;
  }
}

void DequantizeRow(GgmlType type, const uint8_t* src, size_t n, float* out) {
  const size_t blocks = n / GgmlTypeLayout(static_cast<uint32_t>(type)).block_elements;
  switch (type) {
    case GgmlType::kF32: std::memcpy(out, src, n * sizeof(float)); return;
    case GgmlType::kF16:
      for (size_t i = 0; i < n; i++) out[i] = LoadFp16(src + 2 * i);
      return;
    case GgmlType::kBF16:
      for (size_t i = 0; i < n; i++) out[i] = Bf16ToFloat(LoadU16(src + 2 * i));
      return;
    case GgmlType::kQ8_0: DequantizeQ8_0Blocks(src, blocks, out); return;
    case GgmlType::kQ4_0: DequantizeQ4_0Blocks(src, blocks, out); return;
    case GgmlType::kQ4_K: DequantizeQ45_KBlocks(false, src, blocks, out); return;
    case GgmlType::kQ5_K: DequantizeQ45_KBlocks(true, src, blocks, out); return;
    case GgmlType::kQ6_K: DequantizeQ6_KBlocks(src, blocks, out); return;
    default: return;  // REQUIRES excludes it
  }
}

// The kernel's fp16 cache already converts binary16 to float exactly; the same function serves here.
float Fp16ToFloat(uint16_t h) { return kernel::KvToFloat(h); }

float Bf16ToFloat(uint16_t h) { return std::bit_cast<float>(static_cast<uint32_t>(h) << 16); }

}  // namespace fpgaserve
