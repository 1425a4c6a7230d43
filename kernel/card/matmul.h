// The card kernel's matmul: y[e] = W x[e] for every entry e of the step, W a Q8_0 matrix in 16-row tiles
// split over the memory ports (kernel.h), read once per step whatever the batch.
//
//          ┌ relay(0) ─ pe(0) <─ words ─ load_weights(port 0); pe(0) ─ group sums ─ scale(0) ─ dots ┐
//   feed ──┤   │ (the activations, passed on port to port)                                         ├── store (on chip,
//  (x, s)  │ relay(1) ─ pe(1) ...   one chain per memory port, side by side   ...                  │   or the logits)
//          └ ... pe(P-1) (the last port's PE reads the relays' end)                                ┘
//
// One DATAFLOW region; every stage a pipelined loop at II=1, joined by streams:
//   load_weights  one unconditional, address-increasing burst of the port's share of the matrix (its
//                 tiles: for each group gs/4 value words then a scale word), a word a cycle.
//   feed          the int8 activations and their scales, read once and sent to port 0's relay.
//   relay         port p's copy of each activation word to its PE array, and the word on to port p + 1:
//                 a forwarding chain, each hop one FIFO between neighbours, not one word fanned out to
//                 kMemPorts FIFOs a cycle (32 on the HBM builds) across the die.
//   pe            per weight word, kPeEntries entries at once: 16 rows x 4 values x kPeEntries int8
//                 multiply-adds (two rows a DSP: DotPair4) into int32 sums (exact, an int add carried a
//                 cycle: II=1); a step of n entries holds each word for ceil(n / kPeEntries) cycles. At
//                 the group's scale word the block's int32 sums go to the scale stage, a word an entry.
//   scale         kernel_math.h's ScaledGroup, kScaleRows rows of one entry a cycle (16 on the DDR builds,
//                 an entry a cycle): shared float multipliers and adders per port instead of 16 x
//                 kPeEntries of them. An entry's running dot comes back after at least kScaleMinCycles
//                 iterations (a block's slots padded to that many), past the adder's latency.
//   collect       per tile the dots of ports 0 .. p - 1 (from the previous port's collector), then port p's
//                 own: the ports' words gathered by a chain of 2:1 choices between neighbours, not one
//                 P:1 multiplexer of 512-bit streams in `store` (32:1 on the HBM builds).
//   store         the gathered dots, a word (16 rows of one entry) a cycle, into the activations
//                 (layers) or to the logits buffer in arrival order (the classifier).
#ifndef FPGASERVE_KERNEL_CARD_MATMUL_H_
#define FPGASERVE_KERNEL_CARD_MATMUL_H_

#include "kernel/card/card.h"
#include "kernel/card/counters.h"
#include "kernel/card/vector_ops.h"
#include "kernel/kernel_math.h"

namespace fpgaserve {
namespace kernel {

// The shape of one matmul call, the same for every port. The loops' trip counts are products of it,
// made here, once, in the top function: each per-port process (32 of each kind on the HBM builds) takes
// them as they are instead of multiplying them itself.
struct MatmulShape {
  int rows, cols, gs, n;  // W is rows x cols; n entries
  int tpp;                // tiles per port
  int groups;             // cols / gs
  int value_words;        // gs / 4: value words of a group
  int blocks;             // ceil(n / kPeEntries)
  int64_t offset_words;   // the matrix's offset in every port, in words
  int qw, sw;             // an entry's int8 activation words and scale words
  int feed_words;         // n (qw + sw): the activations sent down the chain
  int port_words;         // tpp groups (value_words + 1): a port's share of the matrix
  int pe_iterations;      // port_words blocks
  int scale_iterations;   // tpp groups blocks kScaleSlots
  int tile_words;         // tpp n: the dots a port makes
};

inline MatmulShape MakeMatmulShape(int rows, int cols, int gs, int n, int64_t offset_bytes) {
  MatmulShape s;
  s.rows = rows;
  s.cols = cols;
  s.gs = gs;
  s.n = n;
  s.tpp = TilesPerPort(rows);
  s.groups = cols / gs;
  s.value_words = gs / kTileBeatValues;
  s.blocks = (n + kPeEntries - 1) / kPeEntries;
  s.offset_words = offset_bytes / kWordBytes;
  s.qw = (cols + kWordBytes - 1) / kWordBytes;
  s.sw = (s.groups + kWordFloats - 1) / kWordFloats;
  s.feed_words = n * (s.qw + s.sw);
  s.port_words = s.tpp * s.groups * (s.value_words + 1);
  s.pe_iterations = s.port_words * s.blocks;
  s.scale_iterations = s.tpp * s.groups * s.blocks * kScaleSlots;
  s.tile_words = s.tpp * n;
  return s;
}

// What a PE array hands the scale stage at the end of a group, for one block of entries, in 512-bit words
// (no wide structs in streams): per entry of the block one word of its 16 rows' int32 sums, each on its
// own stream so all are written in one cycle; the group's scale word as it came from memory (the 16 rows'
// scales); and one word of the block's entries' scales.
static_assert(kPeEntries <= kWordFloats, "a block's entry scales fill one word");

const int kMaxTilesPerPort = (kMaxVocab / kTileRows + kMemPorts - 1) / kMemPorts + 1;
const int kMaxPortWords = kMaxTilesPerPort * (kMaxDim / 32) * 9;  // the classifier's share, 32-value groups

// Streams the port's tiles of the matrix, a word a cycle.
inline void load_weights(const Word* port, MatmulShape s, hls::stream<Word>& out) {
  const int words = s.port_words;
load_weight_words:
  for (int i = 0; i < words; i++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxPortWords
#pragma HLS PIPELINE II = 1
    out.write(port[s.offset_words + i]);
  }
  CARD_COUNT(weight_words, words);
}

// Sends the PE arrays (through the relays, port 0's first) the n entries' int8 activations (cols / 64 words
// each) and their group scales.
inline void feed(const Word xq[kMaxStep][kQuantWords], const Word xs[kMaxStep][kScaleWords], MatmulShape s,
                 hls::stream<Word>& out) {
  const int qw = s.qw, per_entry = s.qw + s.sw;
  int e = 0, w = 0;  // counters, not a division per iteration
feed_words:
  for (int i = 0; i < s.feed_words; i++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxStep * (kQuantWords + kScaleWords)
#pragma HLS PIPELINE II = 1
    const Word word = w < qw ? xq[e][w] : xs[e][w - qw];
    out.write(word);
    if (++w == per_entry) {
      w = 0;
      e++;
    }
  }
  CARD_COUNT(feed_words, s.feed_words);
}

// One link of the activations' forwarding chain: every word that reaches port p to its PE array and on
// to port p + 1 (the last port's PE array reads the chain's end itself).
inline void relay(hls::stream<Word>& in, MatmulShape s, hls::stream<Word>& mine, hls::stream<Word>& next) {
relay_words:
  for (int i = 0; i < s.feed_words; i++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxStep * (kQuantWords + kScaleWords)
    // II 1: one stream read and two writes to two FIFOs, nothing carried.
#pragma HLS PIPELINE II = 1
    const Word word = in.read();
    mine.write(word);
    next.write(word);
  }
}

// Rows j and j + 1 of a weight word against one entry's four values x (x4: byte k is value k): two rows per
// DSP48E2, as they share the activation. Each product multiplies (w_j * 2^18 + w_j+1) by x_k, 26 bits by 8
// in the DSP's 27 x 18 multiplier; four such products add up in its 48-bit accumulator. The sum of the low
// row's four products lies in [-65024, 65536], inside 18 signed bits, so the low 18 bits (sign-extended)
// are that sum exactly and the rest, shifted down, the high row's.
inline void DotPair4(const Word& w, int j, uint32_t x4, int32_t* hi, int32_t* lo) {
  int64_t packed = 0;
  for (int k = 0; k < kTileBeatValues; k++) {
    const int64_t pair = (int64_t)WordI8(w, j * kTileBeatValues + k) * 262144 +
                         WordI8(w, (j + 1) * kTileBeatValues + k);
    packed += pair * (int8_t)(x4 >> (8 * k));
  }
  const int64_t low = (int64_t)(((uint64_t)packed & 0x3ffffu) ^ 0x20000u) - 0x20000;  // sign-extend 18 bits
  *lo = (int32_t)low;
  *hi = (int32_t)((packed - low) / 262144);  // exact: packed - low is a multiple of 2^18
}

// The PE array's copy of the int8 activations (pe below): kX4Banks banks of 32-bit quads, entry e's quad q
// in bank (e + q) % kX4Banks at X4At(e, q). 16 banks cover the fill's 16 quads a word and up to 16
// entries a block.
const int kX4Banks = 16;
const int kX4Depth = kMaxHiddenDim / kTileBeatValues / kX4Banks;  // an entry's quads per bank
static_assert(kPeEntries <= kX4Banks, "the skewed activation copy serves at most 16 entries a block");
inline int X4At(int e, int q) { return e * kX4Depth + q / kX4Banks; }

// One port's PE array: the activations first (into its own copy, so no two stages share a memory), then
// every word of its tiles against every block of entries.
inline void pe(hls::stream<Word>& weights, hls::stream<Word>& x_in, MatmulShape s, hls::stream<Word> sums[kPeEntries],
               hls::stream<Word>& w_scales, hls::stream<Word>& x_scales) {
  // Entry e's values 4q .. 4q+3 (quad q) live in bank (e + q) % kX4Banks at X4At(e, q): skewed, so the
  // fill's 16 quads of one entry and the PE's kPeEntries entries of one quad each meet every bank at most
  // once, one access a bank a cycle. 16 banks of 32 bits x kMaxStep * kX4Depth (1,024 at the presets'
  // maxima, 2,816 for a 1B-class hidden size): one URAM each (4K x 72), instead of 256 LUTRAM banks of a
  // (entry, quad) partition. URAM, not BRAM: one copy a port is 16 banks, 512 on the 32-port HBM builds,
  // whose BRAM the streams need (a 1B-class build's copies would take 1,536 BRAM36 of the U55C's 2,016);
  // nothing carried reads them, so URAM's longer read latency only deepens the pipeline (3: a PE's 16
  // URAMs span several clock regions ahead of its 16:1 multiplexers).
  uint32_t x4[kX4Banks][kMaxStep * kX4Depth];
#pragma HLS ARRAY_PARTITION variable = x4 complete dim = 1
#pragma HLS BIND_STORAGE variable = x4 type = ram_2p impl = uram latency = 3
  // The entries' group scales as they come, 16 a word: kPeEntries banks of words (entry e in bank
  // e % kPeEntries), so a block's entries read one word each, from different banks, and the fill writes
  // one word a cycle; LUTRAM, kMaxStep / kPeEntries x kScaleWords deep.
  Word xs[kMaxStep][kScaleWords];
#pragma HLS ARRAY_PARTITION variable = xs cyclic factor = kPeEntries dim = 1
#pragma HLS BIND_STORAGE variable = xs type = ram_2p impl = lutram
  const int qw = s.qw, per_entry = s.qw + s.sw;
  int fe = 0, fw = 0;  // entry and word: counters, not a division per iteration
pe_fill:
  for (int i = 0; i < s.feed_words; i++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxStep * (kQuantWords + kScaleWords)
#pragma HLS PIPELINE II = 1
    const Word word = x_in.read();
    if (fw < qw) {
      // Quads 16 fw .. 16 fw + 15 of entry fe: bank k takes lane (k - fe) % 16, all at X4At(fe, 16 fw).
      for (int k = 0; k < kX4Banks; k++) x4[k][X4At(fe, fw * kX4Banks)] = WordU32(word, (k - fe) & (kX4Banks - 1));
    } else {
      xs[fe][fw - qw] = word;
    }
    if (++fw == per_entry) {
      fw = 0;
      fe++;
    }
  }
  CARD_COUNT(fill_words, s.feed_words);

  int32_t acc[kPeBlocks][kPeEntries][kTileRows];  // registers: a block is picked by a multiplexer
#pragma HLS ARRAY_PARTITION variable = acc complete dim = 0
  Word w = ZeroWord();
  const int iterations = s.pe_iterations;
  int g = 0, v = 0, b = 0;  // group of the tile, word of the group (value_words = its scale word), block
  int quad0 = 0;            // g x value_words: the group's first quad, a counter
pe_words:
  for (int it = 0; it < iterations; it++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxPortWords * kPeBlocks
#pragma HLS PIPELINE II = 1
    if (b == 0) w = weights.read();  // a word serves every block of entries, one a cycle
    if (v < s.value_words) {
      const int quad = quad0 + v;  // which 4 values of each entry this word multiplies
      // One read a bank: bank k holds quad `quad` of entry (k - quad) % 16 of the block's 16-entry window;
      // then entry e's value from bank (b kPeEntries + e + quad) % 16 (a 16:1 multiplexer an entry).
      uint32_t bank[kX4Banks];
#pragma HLS ARRAY_PARTITION variable = bank complete
      const int first = b * kPeEntries;
      for (int k = 0; k < kX4Banks; k++) {
        const int e = first + ((k - quad - first) & (kX4Banks - 1));
        bank[k] = e < kMaxStep ? x4[k][X4At(e, quad)] : 0;
      }
      for (int e = 0; e < kPeEntries; e++) {
        const uint32_t xv = bank[(first + e + quad) & (kX4Banks - 1)];
        for (int j = 0; j < kTileRows; j += 2) {
          int32_t hi, lo;
          DotPair4(w, j, xv, &hi, &lo);
          // An int32 add carried to the same block's next word: one cycle, so II=1 holds.
          acc[b][e][j] = (v == 0 ? 0 : acc[b][e][j]) + hi;
          acc[b][e][j + 1] = (v == 0 ? 0 : acc[b][e][j + 1]) + lo;
        }
      }
    } else {
      Word xw = ZeroWord();
      for (int e = 0; e < kPeEntries; e++) {
        Word sum_word;
        for (int j = 0; j < kTileRows; j++) SetWordU32(sum_word, j, (uint32_t)acc[b][e][j]);
        sums[e].write(sum_word);
        SetWordF32(xw, e, WordF32(xs[b * kPeEntries + e][g / kWordFloats], g % kWordFloats));
      }
      w_scales.write(w);  // the scale word: row j's scale in lane j
      x_scales.write(xw);
    }
    if (++b == s.blocks) {
      b = 0;
      if (++v == s.value_words + 1) {
        v = 0;
        quad0 += s.value_words;
        if (++g == s.groups) {
          g = 0;
          quad0 = 0;
        }
      }
    }
  }
  CARD_COUNT(pe_iterations, iterations);
}

// One port's scale stage: dot[e][j] = ScaledGroup of each group, in group order, kScaleRows rows a cycle;
// after the last group of a tile, one word per entry (its 16 rows) to `out`.
inline void scale(hls::stream<Word> sums_in[kPeEntries], hls::stream<Word>& w_scales_in, hls::stream<Word>& x_scales_in,
                  MatmulShape s, hls::stream<Word>& out) {
  // Each entry's 16 running dots as kScaleParts rows of kScaleRows lanes (entry e's part q is row
  // e * kScaleParts + q): the unrolled lanes are constant indices, kScaleRows LUTRAM banks of kMaxStep x
  // kScaleParts floats, one read and one write each a cycle; the part picks the row, an address.
  float dot[kMaxStep * kScaleParts][kScaleRows];
#pragma HLS ARRAY_PARTITION variable = dot complete dim = 2
#pragma HLS BIND_STORAGE variable = dot type = ram_2p impl = lutram
  const int entry_slots = kScaleSlots / kScaleParts;  // entries a block has room for (kPeEntries or more)
  const int iterations = s.scale_iterations;
  Word w_scales = ZeroWord(), x_scales = ZeroWord(), sums = ZeroWord(), word = ZeroWord();
  int g = 0, b = 0, e = 0, part = 0;  // iteration (group, block, entry slot, part of the 16 rows)
scale_slots:
  for (int it = 0; it < iterations; it++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxTilesPerPort * kMaxGroups * kPeBlocks * kScaleSlots
    // II 1: per lane r one read and one write of its dot bank (LUTRAM, at row entry * kScaleParts + part),
    // the word lanes part * kScaleRows + r picked by constant indices under a compare (a kScaleParts:1
    // multiplexer); the float add is carried through the bank, and
    // distance: entry (b, e)'s dot comes back one group later, blocks * kScaleSlots >= kScaleMinCycles (8) iterations.
#pragma HLS PIPELINE II = 1
#pragma HLS DEPENDENCE variable = dot inter true distance = 8
    if (e == 0 && part == 0) {
      w_scales = w_scales_in.read();
      x_scales = x_scales_in.read();
    }
    for (int k = 0; k < kPeEntries; k++) {
      if (k == e && part == 0) sums = sums_in[k].read();  // entry e's word, on its own stream
    }
    const int entry = b * kPeEntries + e;
    if (e < kPeEntries && entry < s.n) {
      const int at = entry * kScaleParts + part;
      for (int r = 0; r < kScaleRows; r++) {
        int32_t sum = 0;
        float w_scale = 0.0f;
        for (int q = 0; q < kScaleParts; q++) {
          if (q == part) {
            sum = (int32_t)WordU32(sums, q * kScaleRows + r);
            w_scale = WordF32(w_scales, q * kScaleRows + r);
          }
        }
        const float prod = ScaledGroup(sum, w_scale, WordF32(x_scales, e));
        const float d = g == 0 ? prod : dot[at][r] + prod;
        dot[at][r] = d;
        for (int q = 0; q < kScaleParts; q++) {
          if (q == part) SetWordF32(word, q * kScaleRows + r, d);
        }
      }
      if (g == s.groups - 1 && part == kScaleParts - 1) out.write(word);
    }
    if (++part == kScaleParts) {
      part = 0;
      if (++e == entry_slots) {
        e = 0;
        if (++b == s.blocks) {
          b = 0;
          if (++g == s.groups) g = 0;
        }
      }
    }
  }
  CARD_COUNT(scale_iterations, iterations);
}

// The dots' gathering chain. Its first link: port 0's dots as they come.
inline void collect_first(hls::stream<Word>& own, MatmulShape s, hls::stream<Word>& out) {
collect_first_words:
  for (int i = 0; i < s.tile_words; i++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxTilesPerPort * kMaxStep
    // II 1: one read, one write, nothing carried.
#pragma HLS PIPELINE II = 1
    out.write(own.read());
  }
}

// A later link, port p's (p = `earlier` ports before it): per tile of the ports, the earlier ports' n words
// each (from port p - 1's link), then port p's own n words, so the last link gives the store every port's
// tile t in port order.
inline void collect(hls::stream<Word>& before, hls::stream<Word>& own, MatmulShape s, int earlier,
                    hls::stream<Word>& out) {
  int t = 0, port = 0, e = 0;  // the tile, whose port's word (the earlier ones', then p's own), the entry
collect_words:
  for (int i = 0; i < kMaxTilesPerPort * kMemPorts * kMaxStep + 1; i++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxTilesPerPort * kMemPorts * kMaxStep
    // II 1: one read from one of two streams (a counter compare picks it), one write; only counters are
    // carried, and the loop ends when they pass the last tile (no product of the shape made per port).
#pragma HLS PIPELINE II = 1
    if (t == s.tpp) break;
    Word word;
    if (port < earlier) {
      word = before.read();
    } else {
      word = own.read();
    }
    out.write(word);
    if (++e == s.n) {
      e = 0;
      if (++port == earlier + 1) {
        port = 0;
        t++;
      }
    }
  }
}

// The ports' dots as the collectors gather them (tile t of every port in port order, entry by entry): into
// the activations, word (tile) p * tpp + t of each entry, dropping tiles past the matrix's rows (padding of
// the last port); or, for the classifier, to `logits` in that order (card.h's CardLogitsWord), one write
// burst. One process either way: the choice is made once, outside the two pipelined loops.
inline void store(hls::stream<Word>& dots, MatmulShape s, bool to_logits, Word y[kMaxStep][kActWords], Word* logits) {
  const int tiles = TileCount(s.rows);
  const int words = s.tile_words * kMemPorts;
  // (tile of the port, port, entry) as counters, not divisions per iteration.
  if (to_logits) {
  store_logit_words:
    for (int i = 0; i < words; i++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxTilesPerPort * kMemPorts * kMaxStep
#pragma HLS PIPELINE II = 1
      logits[i] = dots.read();
    }
  } else {
    int t = 0, p = 0, e = 0, tile = 0;  // the tile of the port, the port, the entry; p x tpp + t
  store_words:
    for (int i = 0; i < words; i++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxTilesPerPort * kMemPorts * kMaxStep
#pragma HLS PIPELINE II = 1
      const Word word = dots.read();
      if (tile < tiles) y[e][tile] = word;
      if (++e == s.n) {
        e = 0;
        tile += s.tpp;  // the next port's tile t
        if (++p == kMemPorts) {
          p = 0;
          tile = ++t;
        }
      }
    }
  }
  CARD_COUNT(store_words, words);
}

// Port p's chain. All but the last port relay the activations (x[p]: what reaches port p) to the next.
// Then the gathering chain, in port order (gathered[p]: the dots of ports 0 .. p), whose last link feeds
// the store. (Processes are listed producers first: the C simulation runs them in this order.)
#define FPGASERVE_CARD_MATMUL_CHAIN(p)                         \
  relay(x[p], s, pe_x[p], x[p + 1]);                           \
  load_weights(m##p, s, words[p]);                             \
  pe(words[p], pe_x[p], s, sums[p], w_scales[p], x_scales[p]); \
  scale(sums[p], w_scales[p], x_scales[p], s, dots[p]);
#define FPGASERVE_CARD_MATMUL_CHAIN_END(p)                  \
  load_weights(m##p, s, words[p]);                          \
  pe(words[p], x[p], s, sums[p], w_scales[p], x_scales[p]); \
  scale(sums[p], w_scales[p], x_scales[p], s, dots[p]);
#define FPGASERVE_CARD_MATMUL_COLLECT(p) collect(gathered[p - 1], dots[p], s, p, gathered[p]);
const int kRelays = kMemPorts > 1 ? kMemPorts - 1 : 1;  // the ports that relay
#define FPGASERVE_CARD_MATMUL_STREAMS                    \
  hls::stream<Word> words[kMemPorts];                    \
  hls::stream<Word> x[kMemPorts];                        \
  hls::stream<Word> pe_x[kRelays];                       \
  hls::stream<Word> sums[kMemPorts][kPeEntries];         \
  hls::stream<Word> w_scales[kMemPorts];                 \
  hls::stream<Word> x_scales[kMemPorts];                 \
  hls::stream<Word> dots[kMemPorts];                     \
  hls::stream<Word> gathered[kMemPorts];                 \
  _Pragma("HLS STREAM variable = words depth = 64")      \
  _Pragma("HLS STREAM variable = x depth = 4")           \
  _Pragma("HLS STREAM variable = pe_x depth = 4")        \
  _Pragma("HLS STREAM variable = sums depth = 2")        \
  _Pragma("HLS STREAM variable = w_scales depth = 2")    \
  _Pragma("HLS STREAM variable = x_scales depth = 2")    \
  _Pragma("HLS STREAM variable = dots depth = kMaxStep") \
  _Pragma("HLS STREAM variable = gathered depth = 4")

// y = W x for the n entries of xq/xs: into on-chip activations, or with to_logits (the classifier, its
// rows compacted by out_row) to the logits buffer. One function for every call, instantiated once
// (ALLOCATION in the top function).
inline void matmul(FPGASERVE_FOR_PORTS(FPGASERVE_CARD_CONST_PORT_PARAM) const Word xq[kMaxStep][kQuantWords],
                   const Word xs[kMaxStep][kScaleWords], MatmulShape s, bool to_logits, Word y[kMaxStep][kActWords],
                   Word* logits) {
  // One instance for every call (ALLOCATION in the top function): kept a module, not inlined.
#pragma HLS INLINE off
#pragma HLS DATAFLOW
  FPGASERVE_CARD_MATMUL_STREAMS
  feed(xq, xs, s, x[0]);
  FPGASERVE_FOR_PORTS_BUT_LAST(FPGASERVE_CARD_MATMUL_CHAIN)
  FPGASERVE_FOR_LAST_PORT(FPGASERVE_CARD_MATMUL_CHAIN_END)
  collect_first(dots[0], s, gathered[0]);
  FPGASERVE_FOR_PORTS_BUT_FIRST(FPGASERVE_CARD_MATMUL_COLLECT)
  store(gathered[kMemPorts - 1], s, to_logits, y, logits);
}

}  // namespace kernel
}  // namespace fpgaserve

#endif  // FPGASERVE_KERNEL_CARD_MATMUL_H_
