// The part of Vitis HLS's C++ library the card kernel uses, for g++ builds (the C simulation that tests
// run and that `fpgaserve estimate` is checked against). Under Vitis (v++, or its own C simulation) the
// real headers are used instead: ap_uint<512> and hls::stream.
//
// Kept small on purpose; everything here is exercised by tests/kernel/hls_subset_test.cpp:
//   Word                 a 512-bit memory word (ap_uint<512>): every m_axi port's element type
//   Word accessors       byte, 16-bit, 32-bit and float lanes of a word, read and written
//   hls::stream<T>       a FIFO between dataflow stages: write(), read(), empty(). The C simulation runs
//                        the stages of a dataflow region one after another in call order, as Vitis's C
//                        simulation does, so a FIFO here is unbounded; a read of an empty stream (a stage
//                        consuming more than was produced: a deadlock on the card) and data left in a
//                        stream when it is destroyed (a stage producing more than is consumed: a hang on
//                        the card at the next call) both abort with a message.
#ifndef FPGASERVE_KERNEL_HLS_SUBSET_H_
#define FPGASERVE_KERNEL_HLS_SUBSET_H_

#include <stdint.h>
#include <string.h>

#if defined(__SYNTHESIS__) || defined(__VITIS_HLS__) || defined(FPGASERVE_VITIS_HEADERS)
#include <ap_int.h>
#include <hls_stream.h>

namespace fpgaserve {
namespace kernel {
typedef ap_uint<512> Word;
// Bit casts: a union is how Vitis expects them written (memcpy of an ap_uint is not synthesisable).
union FloatBits {
  float f;
  uint32_t u;
};
inline uint32_t WordU32(const Word& w, int i) { return (uint32_t)w.range(32 * i + 31, 32 * i); }
inline void SetWordU32(Word& w, int i, uint32_t v) { w.range(32 * i + 31, 32 * i) = v; }
inline uint16_t WordU16(const Word& w, int i) { return (uint16_t)w.range(16 * i + 15, 16 * i); }
inline void SetWordU16(Word& w, int i, uint16_t v) { w.range(16 * i + 15, 16 * i) = v; }
inline int8_t WordI8(const Word& w, int i) { return (int8_t)(uint8_t)w.range(8 * i + 7, 8 * i); }
inline void SetWordI8(Word& w, int i, int8_t v) { w.range(8 * i + 7, 8 * i) = (uint8_t)v; }
inline float WordF32(const Word& w, int i) {
  FloatBits b;
  b.u = WordU32(w, i);
  return b.f;
}
inline void SetWordF32(Word& w, int i, float f) {
  FloatBits b;
  b.f = f;
  SetWordU32(w, i, b.u);
}
inline Word ZeroWord() { return Word(0); }
}  // namespace kernel
}  // namespace fpgaserve

#else
#include <stdio.h>
#include <stdlib.h>

#include <deque>

namespace fpgaserve {
namespace kernel {

union FloatBits {  // as in the Vitis branch (GCC defines reading the other member of a union)
  float f;
  uint32_t u;
};

// 64 bytes, little-endian lanes: lane i of width b bits is bits [b*i, b*i + b) of the ap_uint<512>.
struct Word {
  uint8_t bytes[64];
};
inline uint32_t WordU32(const Word& w, int i) {
  uint32_t v;
  memcpy(&v, w.bytes + 4 * i, 4);
  return v;
}
inline void SetWordU32(Word& w, int i, uint32_t v) { memcpy(w.bytes + 4 * i, &v, 4); }
inline uint16_t WordU16(const Word& w, int i) {
  uint16_t v;
  memcpy(&v, w.bytes + 2 * i, 2);
  return v;
}
inline void SetWordU16(Word& w, int i, uint16_t v) { memcpy(w.bytes + 2 * i, &v, 2); }
inline int8_t WordI8(const Word& w, int i) { return (int8_t)w.bytes[i]; }
inline void SetWordI8(Word& w, int i, int8_t v) { w.bytes[i] = (uint8_t)v; }
inline float WordF32(const Word& w, int i) {
  float f;
  memcpy(&f, w.bytes + 4 * i, 4);
  return f;
}
inline void SetWordF32(Word& w, int i, float f) { memcpy(w.bytes + 4 * i, &f, 4); }
inline Word ZeroWord() {
  Word w;
  memset(w.bytes, 0, sizeof w.bytes);
  return w;
}

}  // namespace kernel
}  // namespace fpgaserve

namespace hls {

template <typename T>
class stream {
 public:
  stream() = default;
  explicit stream(const char* name) : name_(name) {}
  stream(const stream&) = delete;
  stream& operator=(const stream&) = delete;
  ~stream() {
    if (!q_.empty()) Fail("destroyed with data left in it (a stage wrote more than the next one read)");
  }
  void write(const T& v) { q_.push_back(v); }
  T read() {
    if (q_.empty()) Fail("read while empty (a stage read more than the one before it wrote)");
    T v = q_.front();
    q_.pop_front();
    return v;
  }
  bool empty() const { return q_.empty(); }

 private:
  [[noreturn]] void Fail(const char* what) const {
    fprintf(stderr, "hls::stream %s: %s\n", name_, what);
    abort();
  }
  const char* name_ = "(unnamed)";
  std::deque<T> q_;
};

}  // namespace hls
#endif

#endif  // FPGASERVE_KERNEL_HLS_SUBSET_H_
