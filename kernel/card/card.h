// The card kernel's interface: its top function, the memory it reads and writes, and the counters its C
// simulation keeps. Shared by the kernel (kernel/card/step.cpp), the XRT card and the tests.
//
// Memory: one buffer per memory port p (kMemPorts of them, one AXI master each). Buffer p holds
//   words [0, kv_base)             part p of the weights image (kernel.h), as the simulated card reads it
//   words [kv_base, ...)           port p's share of the KV cache (KvPositionPort/KvPositionAt below)
// plus two small buffers: `in` (the step's input, kernel.h) and `logits` (CardLogitsWord below).
//
// The KV cache is cut into lines: line g = (layer * n_slots + slot) * n_kv_heads + kv_head holds that
// head's keys and values for positions 0..cache_len-1 (KvHeadWords words each), in chunks of kKvChunk
// positions (a chunk's keys, then its values). Line g belongs to attention chain g % kChains and is
// striped over that chain's kChainPorts ports a chunk at a time: chunk k on the chain's member
// (k + r) % kChainPorts, r = (g / kChains) % kChainPorts (the stripe turned by the line, so a chain's
// consecutive jobs begin on different ports and one loader does not hold a job's last chunk and the next
// job's first), at the line's slot g / kChains there. Neighbouring heads of one slot sit on neighbouring
// chains, and one job's chunks on all of its chain's ports, so attention reads every port at once. (On the
// DDR builds a chain has one port: line g lies whole on port g % kMemPorts.)
#ifndef FPGASERVE_KERNEL_CARD_CARD_H_
#define FPGASERVE_KERNEL_CARD_CARD_H_

#include <stdint.h>

#include "kernel/hls_subset.h"
#include "kernel/kernel.h"

// The port list as a macro: X(p) for p = 0 .. kMemPorts-1 (the top function needs one argument per port).
#define FPGASERVE_PORTS_1(X) X(0)
#define FPGASERVE_PORTS_2(X) X(0) X(1)
#define FPGASERVE_PORTS_4(X) X(0) X(1) X(2) X(3)
#define FPGASERVE_PORTS_8(X) FPGASERVE_PORTS_4(X) X(4) X(5) X(6) X(7)
#define FPGASERVE_PORTS_16(X) FPGASERVE_PORTS_8(X) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15)
#define FPGASERVE_PORTS_32(X) \
  FPGASERVE_PORTS_16(X) X(16) X(17) X(18) X(19) X(20) X(21) X(22) X(23) X(24) X(25) X(26) X(27) X(28) X(29) X(30) X(31)
#define FPGASERVE_PORTS_CAT(a, b) a##b
#define FPGASERVE_PORTS_OF(n, X) FPGASERVE_PORTS_CAT(FPGASERVE_PORTS_, n)(X)
#define FPGASERVE_FOR_PORTS(X) FPGASERVE_PORTS_OF(FPGASERVE_MEM_PORTS, X)
// X(p) for every port but the last, and X(kMemPorts-1) alone: the links of a forwarding chain over the ports
// and its end (matmul.h's activations and dots).
#define FPGASERVE_PORTS_INNER_1(X)
#define FPGASERVE_PORTS_INNER_2(X) X(0)
#define FPGASERVE_PORTS_INNER_4(X) X(0) X(1) X(2)
#define FPGASERVE_PORTS_INNER_8(X) FPGASERVE_PORTS_4(X) X(4) X(5) X(6)
#define FPGASERVE_PORTS_INNER_16(X) FPGASERVE_PORTS_8(X) X(8) X(9) X(10) X(11) X(12) X(13) X(14)
#define FPGASERVE_PORTS_INNER_32(X) \
  FPGASERVE_PORTS_16(X) X(16) X(17) X(18) X(19) X(20) X(21) X(22) X(23) X(24) X(25) X(26) X(27) X(28) X(29) X(30)
#define FPGASERVE_PORTS_LAST_1(X) X(0)
#define FPGASERVE_PORTS_LAST_2(X) X(1)
#define FPGASERVE_PORTS_LAST_4(X) X(3)
#define FPGASERVE_PORTS_LAST_8(X) X(7)
#define FPGASERVE_PORTS_LAST_16(X) X(15)
#define FPGASERVE_PORTS_LAST_32(X) X(31)
// X(p) for every port but the first (ascending).
#define FPGASERVE_PORTS_TAIL_1(X)
#define FPGASERVE_PORTS_TAIL_2(X) X(1)
#define FPGASERVE_PORTS_TAIL_4(X) X(1) X(2) X(3)
#define FPGASERVE_PORTS_TAIL_8(X) FPGASERVE_PORTS_TAIL_4(X) X(4) X(5) X(6) X(7)
#define FPGASERVE_PORTS_TAIL_16(X) FPGASERVE_PORTS_TAIL_8(X) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15)
#define FPGASERVE_PORTS_TAIL_32(X) \
  FPGASERVE_PORTS_TAIL_16(X)       \
  X(16) X(17) X(18) X(19) X(20) X(21) X(22) X(23) X(24) X(25) X(26) X(27) X(28) X(29) X(30) X(31)
#define FPGASERVE_PORTS_TAIL_OF(n, X) FPGASERVE_PORTS_CAT(FPGASERVE_PORTS_TAIL_, n)(X)
#define FPGASERVE_FOR_PORTS_BUT_FIRST(X) FPGASERVE_PORTS_TAIL_OF(FPGASERVE_MEM_PORTS, X)
#define FPGASERVE_PORTS_INNER_OF(n, X) FPGASERVE_PORTS_CAT(FPGASERVE_PORTS_INNER_, n)(X)
#define FPGASERVE_PORTS_LAST_OF(n, X) FPGASERVE_PORTS_CAT(FPGASERVE_PORTS_LAST_, n)(X)
#define FPGASERVE_FOR_PORTS_BUT_LAST(X) FPGASERVE_PORTS_INNER_OF(FPGASERVE_MEM_PORTS, X)
#define FPGASERVE_FOR_LAST_PORT(X) FPGASERVE_PORTS_LAST_OF(FPGASERVE_MEM_PORTS, X)
// X(c) for c = 0 .. kChains-1: the attention chains (attention.h).
#define FPGASERVE_FOR_CHAINS(X) FPGASERVE_PORTS_OF(FPGASERVE_ATTENTION_CHAINS, X)

// Attention chains (a build parameter: A, dividing kMemPorts; kernel/card/attention.h): chain c computes
// the jobs of ports c, c + A, c + 2A, ..., each port with its own loader. A = kMemPorts on the DDR cards;
// fewer on the HBM cards, whose 32 chains of float units would not fit the part.
#ifndef FPGASERVE_ATTENTION_CHAINS
#define FPGASERVE_ATTENTION_CHAINS FPGASERVE_MEM_PORTS
#endif

// Entries whose products one PE array computes in the same cycle (a build parameter: B). A PE array
// takes a 64-byte weight word (16 rows x 4 values) and multiplies it with B entries' 4 values: 64 x B
// int8 multiply-adds a cycle per memory port. A step of n entries takes ceil(n / B) cycles per word.
#ifndef FPGASERVE_PE_ENTRIES
#define FPGASERVE_PE_ENTRIES 16
#endif
#ifndef FPGASERVE_SCALE_ROWS
#define FPGASERVE_SCALE_ROWS 16
#endif

namespace fpgaserve {
namespace kernel {

const int kChains = FPGASERVE_ATTENTION_CHAINS;
const int kChainPorts = kMemPorts /
                        kChains;  // ports (loaders) per chain: port p is member p / kChains of chain p % kChains
static_assert(kChains >= 1 && kChainPorts * kChains == kMemPorts, "FPGASERVE_ATTENTION_CHAINS must divide the ports");
const int kPeEntries = FPGASERVE_PE_ENTRIES;
const int kScaleMinCycles = 8;  // kernel_math.h's kPartials (see kScaleSlots)
const int kPeBlocks = (kMaxStep + kPeEntries - 1) / kPeEntries;
// Rows of a tile the scale stage scales a cycle (a build parameter: R = 16, 8, 4 or 2): an entry's 16
// rows take 16 / R cycles. With few entries a block (the HBM builds) R = 16 would leave most of the
// kScaleMinCycles slots idle; a smaller R shares one set of float units over them.
const int kScaleRows = FPGASERVE_SCALE_ROWS;
const int kScaleParts = kTileRows / kScaleRows;  // cycles an entry's 16 rows take
static_assert(kScaleRows * kScaleParts == kTileRows && kScaleMinCycles % kScaleParts == 0,
              "FPGASERVE_SCALE_ROWS must be 16, 8, 4 or 2");
// Cycles the scale stage gives one PE block of one group: its entries' parts, and at least
// kScaleMinCycles: the float sums it carries come back no sooner, so the adder's latency is hidden
// (kernel_math.h's kPartials).
const int kScaleSlots = kPeEntries * kScaleParts > kScaleMinCycles ? kPeEntries* kScaleParts : kScaleMinCycles;
// Positions of a job whose keys, then values, an attention loader reads in one go (attention.h): 32
// positions of a 64-value head are one 64-word burst.
const int kKvChunk = 32;
// Iterations the online softmax's lane loops (attention.h's weights and values) give a position at
// least: a lane's sums (a multiply, then an add) come back kPartials positions later, so at least
// kPartials x 2 = 16 iterations, past a BRAM read, the multiplier's and the adder's latency. Only a
// head of one key word without grouped-query heads (head_size <= 32, kv_mul 1) pads its positions.
const int kLaneMinIterations = 2;
// Rows of partial sums of squares an entry keeps for its next RMSNorm (vector_ops.h): kernel_math.h's
// kPartials, which vector_ops.h checks.
const int kNormPartials = 8;

// The next word of stream i of an array of N streams, i chosen at run time: a constant-index read under a
// compare per stream (an N:1 multiplexer on the card), as Vitis wants arrays of streams read.
template <int N>
inline Word ReadFrom(hls::stream<Word> streams[N], int i) {
  Word word = ZeroWord();
  for (int q = 0; q < N; q++) {
    if (q == i) word = streams[q].read();
  }
  return word;
}

inline int64_t KvLine(int layer, int slot, int kv_head, int n_slots, int n_kv_heads) {
  return ((int64_t)layer * n_slots + slot) * n_kv_heads + kv_head;
}
inline int KvLineChain(int64_t line) { return (int)(line % kChains); }
inline int64_t KvLineSlot(int64_t line) { return line / kChains; }
inline int64_t KvChunkWords(int head_size) { return 2 * (int64_t)kKvChunk * KvHeadWords(head_size); }
// A line's share of each of its chain's ports: the chunks that member holds, consecutive there, so that
// an attention loader reads its chunks of a job as one address-increasing stream (attention.h: kv_load).
inline int64_t KvLineShareWords(int cache_len, int head_size) {
  const int chunks = (cache_len + kKvChunk - 1) / kKvChunk;
  return (int64_t)((chunks + kChainPorts - 1) / kChainPorts) * KvChunkWords(head_size);
}
// The port holding position t of a line, and the word of its key (or value) there, from kv_base.
inline int KvLineRotation(int64_t line) { return (int)(KvLineSlot(line) % kChainPorts); }
// The member holding chunk k of a line turned by `rot`, and the first chunk member m holds (the inverse).
inline int KvChunkMember(int k, int rot) { return (k + rot) % kChainPorts; }
inline int KvMemberFirstChunk(int member, int rot) { return (member + kChainPorts - rot) % kChainPorts; }
inline int KvPositionPort(int64_t line, int t) {
  return KvLineChain(line) + kChains * KvChunkMember(t / kKvChunk, KvLineRotation(line));
}
inline int64_t KvPositionAt(int64_t line, int t, bool value, int cache_len, int head_size) {
  const int hw = KvHeadWords(head_size), chunk = t / kKvChunk;
  return KvLineSlot(line) * KvLineShareWords(cache_len, head_size) +
         (int64_t)(chunk / kChainPorts) * 2 * kKvChunk * hw + (value ? kKvChunk * hw : 0) +
         (int64_t)(t % kKvChunk) * hw;
}
// Words of KV cache each port holds (chain 0's ports hold the most lines).
inline int64_t KvPortWords(int n_layers, int n_slots, int n_kv_heads, int cache_len, int head_size) {
  const int64_t lines = (int64_t)n_layers * n_slots * n_kv_heads;
  return (lines + kChains - 1) / kChains * KvLineShareWords(cache_len, head_size);
}

// The card writes the classifier's output tile by tile as the ports deliver them: tile t of port p (the
// matrix's tile p * TilesPerPort(vocab) + t) for logits row r is word ((t * kMemPorts + p) * n_out + r)
// of `logits`, 16 floats: rows tile*16 .. tile*16+15 of the vocabulary. The host puts them in order.
inline int64_t CardLogitsWords(int vocab, int n_out) { return (int64_t)TilesPerPort(vocab) * kMemPorts * n_out; }
inline int64_t CardLogitsWord(int tile, int row, int vocab, int n_out) {
  const int tpp = TilesPerPort(vocab);
  return ((int64_t)(tile % tpp) * kMemPorts + tile / tpp) * n_out + row;
}

// Trip counts of the card kernel's loops, summed over one call (one step) and over all ports. The C
// simulation counts them as it runs; `fpgaserve estimate` derives the same numbers from the shape
// (fpga/perf_model.cpp), and tests/kernel/card_sim_test.cpp checks that the two agree.
struct CardCounters {
  int64_t header_words;        // image header and offset table
  int64_t input_words;         // the step input
  int64_t embed_words;         // token embedding rows (whole groups: value words and scale word)
  int64_t vector_words;        // norm weights read
  int64_t norm_rows;           // RMSNorm factors: an entry's kPartials rows of partial sums of squares
  int64_t quant_words;         // the quantize region: words made, maxed and rounded (one pass)
  int64_t feed_words;          // activations broadcast to the PE arrays
  int64_t fill_words;          // ... and stored in each PE array
  int64_t weight_words;        // weight words streamed by the loaders
  int64_t pe_iterations;       // PE array: (word, entry block) pairs
  int64_t scale_iterations;    // scale stage: (group, block, entry slot)
  int64_t store_words;         // matmul outputs stored (activations or logits)
  int64_t rope_words;          // RoPE rotation
  int64_t kv_write_words;      // keys and values written to the cache
  int64_t kv_read_words;       // keys and values streamed by the attention loaders
  int64_t score_iterations;    // (key word, query head) pairs
  int64_t softmax_iterations;  // online softmax: (position, query head) pairs, at least 2 a position
  int64_t value_iterations;    // (value word, query head) pairs
  int64_t head_words;          // attention outputs merged
  int64_t residual_words;      // residual adds (and sums of squares), and the sums after the embedding
};

}  // namespace kernel
}  // namespace fpgaserve

#define FPGASERVE_CARD_PORT_PARAM(p) fpgaserve::kernel::Word *m##p,
#define FPGASERVE_CARD_CONST_PORT_PARAM(p) const fpgaserve::kernel::Word *m##p,
// The card kernel (the xclbin's "fpgaserve_step"): one step (kernel.h's contract).
//   m0..m{kMemPorts-1}  the ports' buffers (weights image part, then KV cache share from word kv_base)
//   in                  the step input (kernel::kInputBytes)
//   logits              CardLogitsWords(vocab, n_out) words
//   n_entries           1..kMaxStep; n_slots, cache_len: the KV cache's shape; kv_base: in words
extern "C" void fpgaserve_step(FPGASERVE_FOR_PORTS(FPGASERVE_CARD_PORT_PARAM) const fpgaserve::kernel::Word* in,
                               fpgaserve::kernel::Word* logits, int n_entries, int n_slots, int cache_len, int kv_base);

#ifndef __SYNTHESIS__
// The C simulation's counters for the last call (zeroed at its start).
extern "C" const fpgaserve::kernel::CardCounters* fpgaserve_step_counters();
#endif

#endif  // FPGASERVE_KERNEL_CARD_CARD_H_
