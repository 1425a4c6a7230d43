// The kernel-host contract of fpgaserve: one header shared by the HLS kernel (forward.cpp) and the host.
//
// One call of fpgaserve_step() runs one *step*: a batch of entries (token, pos, slot, out_row). For every
// layer the kernel first computes q/k/v of all entries and writes k/v to cache[layer][slot][pos], then
// lets entry i attend over cache[layer][slot_i][0..pos_i]. The host keeps the entries of one slot in
// increasing pos, so a prompt chunk is a valid step (batched prefill), the decode tokens of many
// sequences are a valid step (continuous batching), and a step may mix both. Entry i writes its logits to
// row out_row_i of `logits` when out_row_i >= 0. Each entry's arithmetic is independent of the others,
// so a sequence's output never depends on what else shares its step.
//
// The kernel trusts its inputs: the host (fpga/) checks every entry against the image and the cache
// before a call. This header holds only plain C++ the kernel may use; host helpers live in fpga/.
#ifndef FPGASERVE_KERNEL_KERNEL_H_
#define FPGASERVE_KERNEL_KERNEL_H_

#include <stdint.h>
#include <string.h>

// Compile-time maxima. They size the kernel's on-chip buffers; a build (the simulated card here, an
// xclbin with v++) may override each with -D. The host build's defaults admit the 1B-class GGUF models
// (Llama 3.2 1B: FFN 8,192, vocabulary 128,256; TinyLlama 1.1B; SmolLM2); a card's build sets its own.
// The values are recorded in the image check and in the xclbin's build info so the host can refuse a model
// that does not fit.
#ifndef FPGASERVE_MAX_DIM
#define FPGASERVE_MAX_DIM 2048
#endif
#ifndef FPGASERVE_MAX_HIDDEN_DIM
#define FPGASERVE_MAX_HIDDEN_DIM 8192
#endif
#ifndef FPGASERVE_MAX_LAYERS
#define FPGASERVE_MAX_LAYERS 32
#endif
#ifndef FPGASERVE_MAX_HEADS
#define FPGASERVE_MAX_HEADS 64
#endif
#ifndef FPGASERVE_MAX_SEQ_LEN
#define FPGASERVE_MAX_SEQ_LEN 4096
#endif
#ifndef FPGASERVE_MAX_VOCAB
#define FPGASERVE_MAX_VOCAB 131072
#endif
#ifndef FPGASERVE_MAX_STEP
#define FPGASERVE_MAX_STEP 64
#endif
#ifndef FPGASERVE_MAX_KV_MUL
#define FPGASERVE_MAX_KV_MUL 8
#endif
// The memory system (a build parameter): how many memory ports the weights image and the KV cache are
// split over. 4 for the DDR cards (F1, U200, U250: one per DDR4 bank), 16 to 32 for the HBM cards (U55C,
// U280: one per pseudo-channel). Every port has its own AXI master on the card.
#ifndef FPGASERVE_MEM_PORTS
#define FPGASERVE_MEM_PORTS 4
#endif

namespace fpgaserve {
namespace kernel {

const int kMaxDim = FPGASERVE_MAX_DIM;               // model width
const int kMaxHiddenDim = FPGASERVE_MAX_HIDDEN_DIM;  // FFN width
const int kMaxLayers = FPGASERVE_MAX_LAYERS;
const int kMaxHeads = FPGASERVE_MAX_HEADS;
const int kMaxSeqLen = FPGASERVE_MAX_SEQ_LEN;  // longest context a slot can hold
const int kMaxVocab = FPGASERVE_MAX_VOCAB;
const int kMaxStep = FPGASERVE_MAX_STEP;     // entries (tokens) in one step
const int kMaxKvMul = FPGASERVE_MAX_KV_MUL;  // query heads per key/value head
const int kMaxHeadSize = 128;                // head_size: a multiple of 16, at most this
// Groups are 32 or 64 values (llama2.c's export halves 64 while it does not divide dim); the minimum bounds
// kMaxGroups, which sizes the on-chip scale buffers.
const int kMinGroupSize = 32;
const int kMaxGroups = kMaxHiddenDim / kMinGroupSize;

// The weights image is split over this many buffers, one per memory port, so that a matmul streams a
// tile from every port at once on the card. Every port's part has the same layout and offset table.
const int kMemPorts = FPGASERVE_MEM_PORTS;
const int kWordBytes = 64;               // one memory word: 512 bits
const int kWordFloats = kWordBytes / 4;  // fp32 lanes of a word
const int kWordHalves = kWordBytes / 2;  // fp16 lanes of a word

// ---- The weights image (written by fpga/weights_image.cpp, read here) ----
// Little-endian. Every port's part starts with the same header: kHeaderFields int32 fields (the RMS
// epsilon as its float bits), then an int64 offset per tensor, indexed by TensorId(). An fp32 vector (a
// norm weight) is stored whole in every part. Every tensor starts on a 64-byte boundary (a word).
//
// A Q8_0 matrix of `rows` x `cols` is cut into tiles of kTileRows rows (the last one padded with zero
// rows); port b holds tiles [b*tpb, (b+1)*tpb), tpb = TilesPerPort(rows). A tile is, for each group g
// of gs columns, gs/4 beats of 64 bytes of values, then one beat of the tile rows' fp32 scales of group
// g. Beat s of group g holds, for each row j of the tile, its four int8 values at columns g*gs + 4s ..
// g*gs + 4s + 3 (bytes 4j .. 4j+3). So a tile streams as one burst, and every beat feeds each entry
// 16 rows x 4 multiply-adds with nothing left to sum across the beat: on the card 16 small adder trees
// instead of a 64-wide one, on the host one VNNI instruction per beat and entry.
const uint32_t kImageMagic = 0x49575346u;  // "FSWI"
const int32_t kImageVersion = 3;           // 2: tiled matrices; 3: the port count is the build's, RMS epsilon
enum HeaderField {
  kFieldMagic,
  kFieldVersion,
  kFieldPorts,
  kFieldDim,
  kFieldHiddenDim,
  kFieldLayers,
  kFieldHeads,
  kFieldKvHeads,
  kFieldVocab,
  kFieldSeqLen,
  kFieldGroupSize,
  kFieldRmsEps,
  kHeaderFields
};
const int kHeaderBytes = 64;  // header fields, padded; the offset table follows
const int kImageAlign = 64;

// Tensors of the image, in offset-table order: three global ones, then kLayerTensors per layer.
enum GlobalTensor { kTokenEmbedding, kRmsFinal, kClassifier, kGlobalTensors };
enum LayerTensor { kRmsAtt, kRmsFfn, kWq, kWk, kWv, kWo, kW1, kW2, kW3, kLayerTensors };
inline int TensorId(int layer, int t) { return kGlobalTensors + layer * kLayerTensors + t; }
inline int TensorCount(int n_layers) { return kGlobalTensors + n_layers * kLayerTensors; }
inline int64_t AlignUp(int64_t bytes) { return (bytes + kImageAlign - 1) / kImageAlign * kImageAlign; }
const int kTileRows = 16;
const int kTileBeatValues = 4;  // values of one row in one 64-byte beat
inline int TileCount(int rows) { return (rows + kTileRows - 1) / kTileRows; }
inline int TilesPerPort(int rows) { return (TileCount(rows) + kMemPorts - 1) / kMemPorts; }
// Where a group's scale beat starts within the group; bytes of one group (value beats and scale beat),
// of one tile, and of a Q8_0 matrix in each bank.
inline int Q8ScalesAt(int group_size) { return group_size / kTileBeatValues * kImageAlign; }
inline int64_t Q8GroupBytes(int group_size) { return Q8ScalesAt(group_size) + kImageAlign; }
inline int64_t Q8TileBytes(int cols, int group_size) { return (int64_t)(cols / group_size) * Q8GroupBytes(group_size); }
inline int64_t Q8PortBytes(int rows, int cols, int group_size) {
  return TilesPerPort(rows) * Q8TileBytes(cols, group_size);
}

// ---- The KV cache ----
// Keys and values are stored as IEEE fp16 (binary16): attention reads every cached key and value of its
// slot each step, so at batch 32 the cache, not the weights, is the larger stream, and half the bytes is
// half the time. Conversion rounds to nearest even and saturates at +-65504 (a NaN becomes -65504), so
// it is total; back to float is exact. The host's F16C form (dot_host.h) gives the same bits.
typedef uint16_t KvValue;
const float kKvMax = 65504.0f;  // largest finite fp16

inline KvValue KvFromFloat(float f) {
  f = !(f >= -kKvMax) ? -kKvMax : f;  // also NaN
  f = f > kKvMax ? kKvMax : f;
  uint32_t x;
  memcpy(&x, &f, sizeof x);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t a = x & 0x7fffffffu;
  const int e = (int)(a >> 23);  // float exponent, biased by 127
  if (e >= 113) {
    // Normal in fp16: keep 10 of the 23 mantissa bits, rounding the 13 dropped ones to nearest even (a
    // carry moves into the exponent correctly); then rebias the exponent from 127 to 15.
    return (KvValue)(sign | ((a + 0xfffu + ((a >> 13) & 1u) - (112u << 23)) >> 13));
  }
  if (e < 102) return (KvValue)sign;  // below half the smallest subnormal (2^-25): rounds to zero
  // Subnormal in fp16: the value in units of 2^-24, rounded to nearest even (1024 is the smallest normal).
  const uint32_t mant = (a & 0x7fffffu) | 0x800000u;
  const int shift = 126 - e;  // 14..24
  uint32_t q = mant >> shift;
  const uint32_t rem = mant & ((1u << shift) - 1u), halfway = 1u << (shift - 1);
  if (rem > halfway || (rem == halfway && (q & 1u))) q++;
  return (KvValue)(sign | q);
}

inline float KvToFloat(KvValue h) {
  const uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
  const uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
  uint32_t x;
  if (e == 0) {
    // m x 2^-24: (float)m is exact (m < 2^10), and lowering its exponent by 24 scales it exactly (the
    // result stays a normal float). An integer subtract where a float multiply would take a DSP core
    // on the card's every value lane.
    const float v = (float)m;
    memcpy(&x, &v, sizeof x);
    x = m == 0 ? sign : sign | (x - (24u << 23));
  } else if (e == 0x1f) {
    x = sign | 0x7f800000u | (m << 13);
  } else {
    x = sign | ((e + 112u) << 23) | (m << 13);
  }
  float f;
  memcpy(&f, &x, sizeof f);
  return f;
}

// A head's keys (and values) are stored in whole words of 32 fp16 values: a head of 48 values takes two
// words, the last half zeros. Both the card and the host pad, so both sum the same products.
inline int KvHeadWords(int head_size) { return (head_size + kWordHalves - 1) / kWordHalves; }
inline int KvHeadStride(int head_size) { return KvHeadWords(head_size) * kWordHalves; }  // values a position

// ---- The step ----
// The step's input is one buffer (one memory word type on the card): the entries, kEntryFields int32 each,
// in the first kInputEntryBytes; then for each entry its RoPE rotation, computed by the host: for pair
// f < head_size / 2 (dimensions 2f, 2f+1 of every head), cos then sin of pos * freq_f, kRopeBytes an
// entry. The host computes the angles (with the model's RoPE base and any frequency scaling), so the card
// needs no powf, sinf or cosf cores.
enum EntryField { kEntryToken, kEntryPos, kEntrySlot, kEntryOutRow, kEntryFields };
// The entries' part has room for kInputMaxEntries whatever the build's kMaxStep, so builds of other maxima
// (the card's, the host's) agree on where the RoPE table starts.
const int kInputMaxEntries = 256;
static_assert(kMaxStep <= kInputMaxEntries, "the step input holds at most kInputMaxEntries entries");
const int kInputEntryBytes = kInputMaxEntries * kEntryFields * 4;
const int kRopeBytes = kMaxHeadSize * 4;  // kMaxHeadSize / 2 pairs of two floats
const int kInputBytes = kInputEntryBytes + kMaxStep * kRopeBytes;
static_assert(kInputEntryBytes % kWordBytes == 0, "the RoPE table starts on a word");

}  // namespace kernel
}  // namespace fpgaserve

// The simulated card's step (kernel/forward.cpp): the host's implementation of the card kernel's
// arithmetic, bit for bit (tests/kernel/card_sim_test.cpp checks it against the card kernel's C
// simulation).
//   ports      the weights image, one part per memory port (kMemPorts of them; read-only)
//   k_cache    keys   (layer, slot, kv head, cache_len, KvHeadStride(head_size)) fp16 (KvValue)
//   v_cache    values, the same shape
//   input      the step's input (layout above)
//   logits     (rows asked for, vocab) fp32, written for entries with out_row >= 0
//   n_entries  1..kMaxStep;  n_slots, cache_len: the KV cache's shape
#ifndef __SYNTHESIS__
extern "C" void fpgaserve_host_step(const uint8_t* const* ports, uint16_t* k_cache, uint16_t* v_cache,
                                    const uint8_t* input, float* logits, int n_entries, int n_slots, int cache_len);
#endif

#endif  // FPGASERVE_KERNEL_KERNEL_H_
