// The PE array's two-rows-a-DSP product (kernel/card/matmul.h, DotPair4) against plain int32 dot products,
// on the extremes (every weight and value -128 or 127, where the low row's sum reaches 2^16) and on random
// words.
#include <random>

#include <gtest/gtest.h>

#include "kernel/card/matmul.h"

namespace fpgaserve::kernel {
namespace {

int32_t Dot4(const Word& w, int row, uint32_t x4) {
  int32_t s = 0;
  for (int k = 0; k < kTileBeatValues; k++) s += WordI8(w, row * kTileBeatValues + k) * (int8_t)(x4 >> (8 * k));
  return s;
}

void ExpectPairs(const Word& w, uint32_t x4) {
  for (int j = 0; j < kTileRows; j += 2) {
    int32_t hi = 0, lo = 0;
    DotPair4(w, j, x4, &hi, &lo);
    ASSERT_EQ(hi, Dot4(w, j, x4)) << "row " << j << " x " << x4;
    ASSERT_EQ(lo, Dot4(w, j + 1, x4)) << "row " << j + 1 << " x " << x4;
  }
}

TEST(CardPe, TwoRowsPerMultiplierAreExactAtTheExtremes) {
  const int8_t edges[] = {-128, -127, -1, 0, 1, 126, 127};
  for (int8_t a : edges) {
    for (int8_t b : edges) {
      for (int8_t x : edges) {
        Word w = ZeroWord();
        for (int j = 0; j < kTileRows; j++) {
          for (int k = 0; k < kTileBeatValues; k++) SetWordI8(w, j * kTileBeatValues + k, j % 2 == 0 ? a : b);
        }
        const uint32_t xb = (uint8_t)x;
        ExpectPairs(w, xb | xb << 8 | xb << 16 | xb << 24);
      }
    }
  }
}

TEST(CardPe, TwoRowsPerMultiplierAreExactOnRandomWords) {
  std::mt19937 rng(5);
  for (int trial = 0; trial < 20000; trial++) {
    Word w;
    for (int i = 0; i < kWordBytes; i++) SetWordI8(w, i, static_cast<int8_t>(rng()));
    ExpectPairs(w, static_cast<uint32_t>(rng()));
  }
}

}  // namespace
}  // namespace fpgaserve::kernel
