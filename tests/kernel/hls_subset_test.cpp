// kernel/hls_subset.h: the g++ stand-in for the part of Vitis's ap_uint<512> and hls::stream the card kernel
// uses. Lanes must sit where ap_uint<512>::range puts them (lane i of b bits = bits [b*i, b*i + b), little
// endian), and a stream must be a FIFO that fails loudly where the card would deadlock or hang.
#include "kernel/hls_subset.h"

#include <cstring>

#include <gtest/gtest.h>

namespace fpgaserve::kernel {
namespace {

TEST(HlsSubset, WordLanesAreLittleEndianBitRanges) {
  Word w = ZeroWord();
  SetWordU32(w, 0, 0x04030201u);
  SetWordU32(w, 15, 0xddccbbaau);
  // Bytes 0..3 are the lowest bits: lane 0 of every width starts at byte 0.
  EXPECT_EQ(WordI8(w, 0), 0x01);
  EXPECT_EQ(WordI8(w, 3), 0x04);
  EXPECT_EQ(WordU16(w, 0), 0x0201);
  EXPECT_EQ(WordU16(w, 1), 0x0403);
  EXPECT_EQ(WordU16(w, 31), 0xddcc);
  EXPECT_EQ(WordI8(w, 63), static_cast<int8_t>(0xdd));
  for (int i = 4; i < 60; i++) EXPECT_EQ(WordI8(w, i), 0) << i;
}

TEST(HlsSubset, EveryLaneWidthRoundTrips) {
  Word w = ZeroWord();
  for (int i = 0; i < 64; i++) SetWordI8(w, i, static_cast<int8_t>(i - 32));
  for (int i = 0; i < 64; i++) EXPECT_EQ(WordI8(w, i), i - 32);
  for (int i = 0; i < 32; i++) SetWordU16(w, i, static_cast<uint16_t>(0x8000 + i));
  for (int i = 0; i < 32; i++) EXPECT_EQ(WordU16(w, i), 0x8000 + i);
  const float values[4] = {-0.0f, 1e-45f, 3.25f, -65504.0f};
  for (int i = 0; i < 16; i++) SetWordF32(w, i, values[i % 4] * static_cast<float>(i + 1));
  for (int i = 0; i < 16; i++) {
    const float want = values[i % 4] * static_cast<float>(i + 1), got = WordF32(w, i);
    EXPECT_EQ(std::memcmp(&want, &got, 4), 0) << i;  // the same bits, signed zero and subnormals included
  }
  FloatBits b;
  b.f = 1.0f;
  EXPECT_EQ(b.u, 0x3f800000u);
}

TEST(HlsSubset, StreamIsAFifo) {
  hls::stream<int> s("s");
  EXPECT_TRUE(s.empty());
  for (int i = 0; i < 100; i++) s.write(i);
  EXPECT_FALSE(s.empty());
  for (int i = 0; i < 100; i++) EXPECT_EQ(s.read(), i);
  EXPECT_TRUE(s.empty());
}

TEST(HlsSubsetDeathTest, ReadingAnEmptyStreamAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        hls::stream<int> s("starved");
        (void)s.read();
      },
      "starved: read while empty");
}

TEST(HlsSubsetDeathTest, DataLeftInAStreamAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        hls::stream<int> s("leftover");
        s.write(1);
      },
      "leftover: destroyed with data left");
}

}  // namespace
}  // namespace fpgaserve::kernel
