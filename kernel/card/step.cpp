// fpgaserve_step: the card kernel (Vitis HLS C++), one batched step of a Llama-architecture transformer
// (the contract in kernel/kernel.h, the memory in kernel/card/card.h).
//
//   in ─> entries, RoPE table ─> embed (each entry's row from the port holding it) ─> sum squares
//   for each layer:
//     x ─> norm factors ─> [quantize: RMSNorm] ─> [matmul wq] [matmul wk] [matmul wv] ─> rope ─> write_kv
//       ─> [attention] ─> [quantize] ─> [matmul wo] ─> residual (and sum squares)
//     x ─> norm factors ─> [quantize: RMSNorm] ─> [matmul w1] [matmul w3] ─> [quantize: SwiGLU]
//       ─> [matmul w2] ─> residual (and sum squares)
//   x ─> norm factors ─> [quantize: RMSNorm] (entries that want logits) ─> [matmul classifier] ─> logits
//
// [..] is a DATAFLOW region (kernel/card/matmul.h, attention.h, vector_ops.h): for matmul and attention a
// chain of stages per memory port (for attention: a loader per port, a compute chain per kChains ports),
// side by side, joined by streams; for quantize three processes (make the values, find each group's
// maximum, round). The other stages are elementwise passes over the on-chip activations, a word (16 values)
// a cycle (vector_ops.h). They run one after another: each needs the whole result of the one before (a norm
// needs all of x, attention all of this step's keys).
//
// On-chip memory (the build's maxima; kernel/Makefile sets them per platform): the activations are
// arrays of 512-bit words bound to URAM (x, xb, q, k, v, hb, hb2: (entry, word)); the int8 activations and
// scales, the RoPE table and the entries to BRAM. Each PE array keeps its own copy of the int8
// activations in 16 skewed BRAM banks (matmul.h), each attention loader a chunk of values and each chain a
// chunk of online-softmax weights (attention.h).
//
// The arithmetic is the host's (kernel/forward.cpp) bit for bit: kernel_math.h's functions and orders,
// no fused multiply-add, subnormals flushed (the card's float cores do; the C simulation sets the host's
// flush-to-zero mode to match).
#include "kernel/card/attention.h"
#include "kernel/card/card.h"
#include "kernel/card/counters.h"
#include "kernel/card/matmul.h"
#include "kernel/card/vector_ops.h"
#include "kernel/kernel.h"
#include "kernel/kernel_math.h"
#ifndef __SYNTHESIS__
#include <xmmintrin.h>
#endif

using namespace fpgaserve::kernel;

#ifndef __SYNTHESIS__
namespace fpgaserve {
namespace kernel {
CardCounters g_card_counters;
}  // namespace kernel
}  // namespace fpgaserve
extern "C" const CardCounters* fpgaserve_step_counters() { return &g_card_counters; }
#endif

namespace {

const int kTableWords = 1 + (kGlobalTensors + kMaxLayers * kLayerTensors + 7) / 8;  // header, then offsets
const int kEntryWords = kInputEntryBytes / kWordBytes;

int64_t table_offset(const Word table[kTableWords], int id) {
  const Word& w = table[1 + id / 8];
  const int lane = 2 * (id % 8);
  return (int64_t)(((uint64_t)WordU32(w, lane + 1) << 32) | WordU32(w, lane));
}

}  // namespace

#define FPGASERVE_CARD_PORT_ARG(p) m##p,
#define FPGASERVE_CARD_PRAGMA(x) _Pragma(#x)
// Reads: 64-word bursts, 8 outstanding (the weights and the KV lines). Writes: only write_kv's, single
// words at jumping addresses (attention.h), so many short ones in flight rather than a few long ones
// (and a write buffer of 2 x 16 words, LUTRAM, where 64-word bursts would take BRAM).
#define FPGASERVE_CARD_PORT_INTERFACE(p) \
  FPGASERVE_CARD_PRAGMA(HLS INTERFACE m_axi port = m##p offset = slave bundle = gmem##p                   \
                        max_read_burst_length = 64 max_write_burst_length = 2 num_read_outstanding = 8 \
                        num_write_outstanding = 16 latency = 64)
#define FPGASERVE_CARD_EMBED(p) \
  if (port == p) embed_fetch(m##p, tile_at, tile_words, tile);

extern "C" void fpgaserve_step(FPGASERVE_FOR_PORTS(FPGASERVE_CARD_PORT_PARAM) const Word* in, Word* logits,
                               int n_entries, int n_slots, int cache_len, int kv_base) {
  FPGASERVE_FOR_PORTS(FPGASERVE_CARD_PORT_INTERFACE)
#pragma HLS INTERFACE m_axi port = in offset = slave bundle = gmem_in max_read_burst_length = 64
#pragma HLS INTERFACE m_axi port = logits offset = slave bundle = gmem_out max_write_burst_length = 64
#pragma HLS INTERFACE s_axilite port = n_entries
#pragma HLS INTERFACE s_axilite port = n_slots
#pragma HLS INTERFACE s_axilite port = cache_len
#pragma HLS INTERFACE s_axilite port = kv_base
#pragma HLS INTERFACE s_axilite port = return
  // One matmul for the eight call sites (seven per layer and the classifier), one attention.
#pragma HLS ALLOCATION function instances = matmul limit = 1
#pragma HLS ALLOCATION function instances = attention limit = 1
#pragma HLS ALLOCATION function instances = quantize limit = 1
#pragma HLS ALLOCATION function instances = norm_factors limit = 1
#pragma HLS ALLOCATION function instances = residual limit = 1
#pragma HLS ALLOCATION function instances = load_vector limit = 1
#ifndef __SYNTHESIS__
  g_card_counters = CardCounters();
  const unsigned saved_csr = _mm_getcsr();
  _mm_setcsr(saved_csr | 0x8040u);  // flush-to-zero and denormals-are-zero: the card's float cores
#endif
  const int n = n_entries;

  // The image header and offset table (port 0; every port has the same), then the step input.
  Word table[kTableWords];
  table[0] = m0[0];
  const int layers = (int)WordU32(table[0], kFieldLayers);
  const int n_table = 1 + (TensorCount(layers) + 7) / 8;
read_table:
  for (int i = 1; i < n_table; i++) {
#pragma HLS LOOP_TRIPCOUNT max = kTableWords
#pragma HLS PIPELINE II = 1
    table[i] = m0[i];
  }
  CARD_COUNT(header_words, n_table);
  const int dim = (int)WordU32(table[0], kFieldDim), hidden = (int)WordU32(table[0], kFieldHiddenDim);
  const int n_heads = (int)WordU32(table[0], kFieldHeads), n_kv = (int)WordU32(table[0], kFieldKvHeads);
  const int vocab = (int)WordU32(table[0], kFieldVocab), gs = (int)WordU32(table[0], kFieldGroupSize);
  const float eps = WordF32(table[0], kFieldRmsEps);
  const int hs = dim / n_heads, kv_dim = hs * n_kv;

  Word entries[kEntryWords];
  static Word rope_table[kMaxStep][kRopeWords];
read_entries:
  for (int i = 0; i < kEntryWords; i++) {
#pragma HLS LOOP_TRIPCOUNT max = kEntryWords
#pragma HLS PIPELINE II = 1
    entries[i] = in[i];
  }
read_rope:
  for (int i = 0; i < n * kRopeWords; i++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxStep * kRopeWords
#pragma HLS PIPELINE II = 1
    rope_table[i / kRopeWords][i % kRopeWords] = in[kEntryWords + i];
  }
  CARD_COUNT(input_words, kEntryWords + n * kRopeWords);
  int token[kMaxStep], pos[kMaxStep], slot[kMaxStep], out_row[kMaxStep];
  int n_out = 0;
unpack_entries:
  for (int e = 0; e < n; e++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxStep
#pragma HLS PIPELINE II = 1
    const Word& w = entries[e / 4];
    const int at = (e % 4) * kEntryFields;
    token[e] = (int)WordU32(w, at + kEntryToken);
    pos[e] = (int)WordU32(w, at + kEntryPos);
    slot[e] = (int)WordU32(w, at + kEntrySlot);
    out_row[e] = (int)WordU32(w, at + kEntryOutRow);
    n_out += out_row[e] >= 0 ? 1 : 0;
  }

  // On-chip activations (static: one instance, as on the card; and off the C simulation's stack).
  static Word x[kMaxStep][kActWords], xb[kMaxStep][kActWords];
  static Word q[kMaxStep][kActWords], k[kMaxStep][kActWords], v[kMaxStep][kActWords];
  static Word hb[kMaxStep][kActWords], hb2[kMaxStep][kActWords];
  static Word xq[kMaxStep][kQuantWords], xs[kMaxStep][kScaleWords];
  static Word norm_weight[kDimWords];
#pragma HLS BIND_STORAGE variable = x type = ram_2p impl = uram
#pragma HLS BIND_STORAGE variable = xb type = ram_2p impl = uram
#pragma HLS BIND_STORAGE variable = q type = ram_2p impl = uram
#pragma HLS BIND_STORAGE variable = k type = ram_t2p impl = bram
#pragma HLS BIND_STORAGE variable = v type = ram_t2p impl = bram
#pragma HLS BIND_STORAGE variable = hb type = ram_2p impl = uram
#pragma HLS BIND_STORAGE variable = hb2 type = ram_2p impl = uram
#pragma HLS BIND_STORAGE variable = xq type = ram_2p impl = bram
#pragma HLS BIND_STORAGE variable = xs type = ram_2p impl = bram
  // Each entry's sums of squares for the next RMSNorm (vector_ops.h), written by the pass that last wrote
  // x: 16 lane memories of (entry, partial) rows.
  static float squares[kSquareRows][kWordFloats];
#pragma HLS ARRAY_PARTITION variable = squares complete dim = 2
#pragma HLS BIND_STORAGE variable = squares type = ram_2p impl = lutram
  float factor[kMaxStep];  // each entry's RMSNorm factor

  // Token embedding: each entry's tile from the port holding it (a reader per port), then its row
  // dequantized (one instance).
  const int64_t emb = table_offset(table, kTokenEmbedding);
  const int emb_tpp = TilesPerPort(vocab);
  Word tile[kEmbedWords];
  const int tile_words = dim / gs * (gs / kTileBeatValues + 1);
embed_entries:
  for (int e = 0; e < n; e++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxStep
    const int t = token[e] / kTileRows, port = t / emb_tpp;
    const int64_t tile_at = (emb + (int64_t)(t % emb_tpp) * Q8TileBytes(dim, gs)) / kWordBytes;
    FPGASERVE_FOR_PORTS(FPGASERVE_CARD_EMBED)
    embed_row(x[e], tile, token[e] % kTileRows, dim, gs);
  }
  residual(x, xb, n, dim / kWordFloats, false, squares);  // the embeddings' sums of squares

  AttentionShape as;
  as.n = n;
  as.n_kv_heads = n_kv;
  as.kv_mul = n_heads / n_kv;
  as.head_size = hs;
  as.cache_len = cache_len;
  as.n_slots = n_slots;
  as.hw = KvHeadWords(hs);
  as.kv_base = kv_base;
  as.inv_sqrt = 1.0f / sqrtf((float)hs);
  const int dw = dim / kWordFloats;

layers:
  for (int l = 0; l < layers; l++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxLayers
    as.layer = l;
    // Attention.
    load_vector(m0, table_offset(table, TensorId(l, kRmsAtt)) / kWordBytes, dw, norm_weight);
    norm_factors(squares, n, dw, eps, factor);
    quantize(xq, xs, x, hb2, norm_weight, factor, n, dim, gs, kQuantNorm, out_row, false);
    matmul(FPGASERVE_FOR_PORTS(FPGASERVE_CARD_PORT_ARG) xq, xs,
           MakeMatmulShape(dim, dim, gs, n, table_offset(table, TensorId(l, kWq))), false, q, logits);
    matmul(FPGASERVE_FOR_PORTS(FPGASERVE_CARD_PORT_ARG) xq, xs,
           MakeMatmulShape(kv_dim, dim, gs, n, table_offset(table, TensorId(l, kWk))), false, k, logits);
    matmul(FPGASERVE_FOR_PORTS(FPGASERVE_CARD_PORT_ARG) xq, xs,
           MakeMatmulShape(kv_dim, dim, gs, n, table_offset(table, TensorId(l, kWv))), false, v, logits);
    rope(q, k, rope_table, n, dim, kv_dim, hs);
    write_kv(FPGASERVE_FOR_PORTS(FPGASERVE_CARD_PORT_ARG) k, v, slot, pos, as);
    attention(FPGASERVE_FOR_PORTS(FPGASERVE_CARD_PORT_ARG) q, slot, pos, as, xb);
    quantize(xq, xs, xb, hb2, norm_weight, factor, n, dim, gs, kQuantCopy, out_row, false);
    matmul(FPGASERVE_FOR_PORTS(FPGASERVE_CARD_PORT_ARG) xq, xs,
           MakeMatmulShape(dim, dim, gs, n, table_offset(table, TensorId(l, kWo))), false, xb, logits);
    residual(x, xb, n, dw, true, squares);

    // FFN: w2(silu(w1 x) * w3 x); SwiGLU is the quantize pass's source.
    load_vector(m0, table_offset(table, TensorId(l, kRmsFfn)) / kWordBytes, dw, norm_weight);
    norm_factors(squares, n, dw, eps, factor);
    quantize(xq, xs, x, hb2, norm_weight, factor, n, dim, gs, kQuantNorm, out_row, false);
    matmul(FPGASERVE_FOR_PORTS(FPGASERVE_CARD_PORT_ARG) xq, xs,
           MakeMatmulShape(hidden, dim, gs, n, table_offset(table, TensorId(l, kW1))), false, hb, logits);
    matmul(FPGASERVE_FOR_PORTS(FPGASERVE_CARD_PORT_ARG) xq, xs,
           MakeMatmulShape(hidden, dim, gs, n, table_offset(table, TensorId(l, kW3))), false, hb2, logits);
    quantize(xq, xs, hb, hb2, norm_weight, factor, n, hidden, gs, kQuantSwiglu, out_row, false);
    matmul(FPGASERVE_FOR_PORTS(FPGASERVE_CARD_PORT_ARG) xq, xs,
           MakeMatmulShape(dim, hidden, gs, n, table_offset(table, TensorId(l, kW2))), false, xb, logits);
    residual(x, xb, n, dw, true, squares);
  }

  // Final norm and classifier for the entries that want logits (row out_row of xq).
  if (n_out > 0) {
    load_vector(m0, table_offset(table, kRmsFinal) / kWordBytes, dw, norm_weight);
    norm_factors(squares, n, dw, eps, factor);
    quantize(xq, xs, x, hb2, norm_weight, factor, n, dim, gs, kQuantNorm, out_row, true);
    matmul(FPGASERVE_FOR_PORTS(FPGASERVE_CARD_PORT_ARG) xq, xs,
           MakeMatmulShape(vocab, dim, gs, n_out, table_offset(table, kClassifier)), true, xb, logits);
  }
#ifndef __SYNTHESIS__
  _mm_setcsr(saved_csr);
#endif
}
