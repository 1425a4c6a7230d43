// fpgaserve_step: one batched step of a Llama-architecture transformer (contract in kernel.h).
//
//   entries ─> embed (Q8_0 row -> x)
//   for each layer:
//     x ─> rmsnorm ─> quantize ─> wq,wk,wv ─> RoPE ─> k,v to cache[layer][slot][pos]   (all entries)
//       ─> attention of each entry over its slot's cache[0..pos] ─> quantize ─> wo ─> x += .
//     x ─> rmsnorm ─> quantize ─> w1,w3 ─> SwiGLU ─> quantize ─> w2 ─> x += .
//   x ─> rmsnorm ─> quantize (entries that want logits) ─> classifier ─> logits[out_row]
//
// Matmuls are Q8_0 x Q8_0 like llama2.c's runq.c: weights and activations are int8 with one fp32
// scale per group, products summed in int32 within a group. Weights are stored in tiles of 16 rows (layout
// in kernel.h); each tile is read once per step and applied to every entry of the step, which is what
// makes batching pay: on the card the four DDR banks stream four tiles at once; on the host (the simulated
// card, g++ -fopenmp) tiles are split over threads.
//
// The file is HLS C++: fixed-size local buffers, bounded loops, no heap. g++ ignores the HLS pragmas,
// Vitis ignores the OpenMP ones.
#include <math.h>
#include <string.h>

#include "kernel/kernel.h"
#include "kernel/kernel_math.h"
#ifndef __SYNTHESIS__
#include "kernel/dot_host.h"  // the host's SIMD form of tile_dots, bit-identical
// A head's keys and values are short streams (128 bytes a position) that the host's prefetchers pick
// up too late; the card reads them in AXI bursts and needs no hint.
#define HOST_PREFETCH(p) __builtin_prefetch(p)
#else
#define HOST_PREFETCH(p)
#endif

namespace {

using namespace fpgaserve::kernel;

// Activation rows are as wide as the widest activation (the FFN's), so one buffer type serves all.
const int kMaxWidth = kMaxHiddenDim;
typedef float Activations[kMaxStep][kMaxWidth];
typedef int8_t QuantActivations[kMaxStep][kMaxWidth];
typedef float QuantScales[kMaxStep][kMaxGroups];

// The model's shape, read from the image header once per step.
struct Shape {
  int dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len, group_size;
  int head_size, kv_dim, kv_mul;  // derived
};

// The four banks of the weights image.
struct Banks {
  const uint8_t* b[kBanks];
};

int32_t LoadI32(const uint8_t* p) {
  int32_t v;
  memcpy(&v, p, sizeof v);
  return v;
}
int64_t LoadI64(const uint8_t* p) {
  int64_t v;
  memcpy(&v, p, sizeof v);
  return v;
}
float LoadF32(const uint8_t* p) {
  float v;
  memcpy(&v, p, sizeof v);
  return v;
}

Shape ReadShape(const uint8_t* w0) {
  Shape s;
  s.dim = LoadI32(w0 + 4 * kFieldDim);
  s.hidden_dim = LoadI32(w0 + 4 * kFieldHiddenDim);
  s.n_layers = LoadI32(w0 + 4 * kFieldLayers);
  s.n_heads = LoadI32(w0 + 4 * kFieldHeads);
  s.n_kv_heads = LoadI32(w0 + 4 * kFieldKvHeads);
  s.vocab_size = LoadI32(w0 + 4 * kFieldVocab);
  s.seq_len = LoadI32(w0 + 4 * kFieldSeqLen);
  s.group_size = LoadI32(w0 + 4 * kFieldGroupSize);
  s.head_size = s.dim / s.n_heads;
  s.kv_dim = s.head_size * s.n_kv_heads;
  s.kv_mul = s.n_heads / s.n_kv_heads;
  return s;
}

int64_t TensorOffset(const uint8_t* w0, int id) { return LoadI64(w0 + kHeaderBytes + 8 * id); }

// ---- Leaf operations ----

// o = w * x / rms(x), for `size` values.
void rmsnorm(float* o, const float* x, const uint8_t* weight, int size) {
  float ss = 0.0f;
sum_squares:
  for (int j = 0; j < size; j++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxDim
#pragma HLS PIPELINE II = 1
    ss += x[j] * x[j];
  }
  ss = 1.0f / sqrtf(ss / size + 1e-5f);
scale:
  for (int j = 0; j < size; j++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxDim
#pragma HLS PIPELINE II = 1
    o[j] = LoadF32(weight + 4 * j) * (ss * x[j]);
  }
}

// In place over `size` values.
void softmax(float* x, int size) {
  float max_val = x[0];
find_max:
  for (int i = 1; i < size; i++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxSeqLen
    max_val = x[i] > max_val ? x[i] : max_val;
  }
exps:
  for (int i = 0; i < size; i++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxSeqLen
#pragma HLS PIPELINE II = 1
    x[i] = KernelExp(x[i] - max_val);
  }
  float sum = 0.0f;
exp_sum:
  for (int i = 0; i < size; i++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxSeqLen
    sum += x[i];
  }
normalise:
  for (int i = 0; i < size; i++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxSeqLen
    x[i] /= sum;
  }
}

// xb[e] = rmsnorm(x[e]) and its int8 form in xq/xs, for the n entries: the input of a layer's attention
// or FFN matmuls.
void norm_and_quantize(Activations xb, QuantActivations xq, QuantScales xs, const Activations x,
                       const uint8_t* weight, int n, int dim, int gs) {
#pragma omp for schedule(static)
  for (int e = 0; e < n; e++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxStep
    rmsnorm(xb[e], x[e], weight, dim);
    QuantizeGroups(xq[e], xs[e], xb[e], dim, gs);
  }
}

// Where tile t of a Q8_0 matrix (rows x cols at `offset`) starts: bank t / tpb.
const uint8_t* tile_at(const Banks& w, int64_t offset, int t, int rows, int cols, int gs) {
  const int tpb = TilesPerBank(rows);
  return w.b[t / tpb] + offset + (int64_t)(t % tpb) * Q8TileBytes(cols, gs);
}

// x = row i of a Q8_0 matrix, dequantized (the token embedding: one row per entry, four values a beat).
void dequantize_row(float* x, const Banks& w, int64_t offset, int i, int rows, int cols, int gs) {
  const uint8_t* tile = tile_at(w, offset, i / kTileRows, rows, cols, gs);
  const int j = i % kTileRows;
  const int slices = gs / kTileBeatValues;
row_groups:
  for (int g = 0; g < cols / gs; g++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxGroups
    const uint8_t* group = tile + g * Q8GroupBytes(gs);
    const float scale = LoadF32(group + Q8ScalesAt(gs) + 4 * j);
  row_beats:
    for (int s = 0; s < slices; s++) {
#pragma HLS LOOP_TRIPCOUNT max = 16
#pragma HLS PIPELINE II = 1
      for (int k = 0; k < kTileBeatValues; k++) {
#pragma HLS UNROLL
        x[g * gs + s * kTileBeatValues + k] = (float)(int8_t)group[s * kImageAlign + j * kTileBeatValues + k] * scale;
      }
    }
  }
}

// dots[e][j] = row j of one tile . x[e], for the n entries. Per row and entry: each group's products
// summed exactly in int32, then scaled by (row scale * entry scale) and accumulated in float with one
// fused multiply-add per group, in group order. The host's SIMD form (dot_host.h) computes the same
// bits. On the card a group is one pipelined pass over (beat, entry): a beat is read when its first
// entry comes up and serves the n entries on the next n cycles, so at batch 1 the tile streams at a
// beat a cycle and at batch n each beat is read once for n entries' 64 multiply-adds.
typedef float TileDots[kMaxStep][kTileRows];

[[maybe_unused]] void tile_dots(TileDots dots, const uint8_t* tile, const QuantActivations xq, const QuantScales xs,
                                int n, int cols, int gs) {
  const int slices = gs / kTileBeatValues;
  int32_t sum[kMaxStep][kTileRows];
#pragma HLS ARRAY_PARTITION variable = sum complete dim = 2
#pragma HLS ARRAY_PARTITION variable = dots complete dim = 2
clear:
  for (int e = 0; e < n; e++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxStep
#pragma HLS PIPELINE II = 1
    for (int j = 0; j < kTileRows; j++) dots[e][j] = 0.0f;
  }
tile_groups:
  for (int g = 0; g < cols / gs; g++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxGroups
    const uint8_t* group = tile + g * Q8GroupBytes(gs);
    int8_t beat[kImageAlign];
    float w_scale[kTileRows];
#pragma HLS ARRAY_PARTITION variable = beat complete
#pragma HLS ARRAY_PARTITION variable = w_scale complete
    int s = 0, e = 0;
  group_beats:
    for (int it = 0; it < slices * n; it++) {
#pragma HLS LOOP_TRIPCOUNT max = 16 * kMaxStep
#pragma HLS PIPELINE II = 1
#pragma HLS DEPENDENCE variable = sum inter false
#pragma HLS DEPENDENCE variable = dots inter false
      if (e == 0) {
        for (int k = 0; k < kImageAlign; k++) beat[k] = (int8_t)group[s * kImageAlign + k];
        if (s == 0) {
          for (int j = 0; j < kTileRows; j++) w_scale[j] = LoadF32(group + Q8ScalesAt(gs) + 4 * j);
        }
      }
      const int8_t* x = xq[e] + g * gs + s * kTileBeatValues;
      for (int j = 0; j < kTileRows; j++) {
#pragma HLS UNROLL
        int32_t p = 0;
        for (int k = 0; k < kTileBeatValues; k++) {
#pragma HLS UNROLL
          p += (int32_t)beat[j * kTileBeatValues + k] * x[k];
        }
        const int32_t total = (s == 0 ? 0 : sum[e][j]) + p;
        if (s == slices - 1) {
          // fused: one rounding, as the host's FMA
          dots[e][j] = fmaf((float)total, w_scale[j] * xs[e][g], dots[e][j]);
        } else {
          sum[e][j] = total;
        }
      }
      if (++e == n) {
        e = 0;
        s++;
      }
    }
  }
}

// q . k over n values (n % kAttnLanes == 0), k from the fp16 cache: kAttnLanes partial sums, then a
// pairwise tree. The host's F16C form (KvDotHost) computes the same bits.
const int kAttnLanes = 16;
[[maybe_unused]] float dot_kv(const float* q, const KvValue* k, int n) {
  float part[kAttnLanes];
#pragma HLS ARRAY_PARTITION variable = part complete
  for (int l = 0; l < kAttnLanes; l++) part[l] = 0.0f;
dot_kv_chunks:
  for (int i = 0; i < n; i += kAttnLanes) {
#pragma HLS LOOP_TRIPCOUNT max = 8
    for (int l = 0; l < kAttnLanes; l++) {
#pragma HLS UNROLL
      part[l] += q[i + l] * KvToFloat(k[i + l]);
    }
  }
dot_kv_tree:
  for (int half = kAttnLanes / 2; half > 0; half /= 2) {
#pragma HLS LOOP_TRIPCOUNT max = 4
    for (int l = 0; l < half; l++) {
#pragma HLS LOOP_TRIPCOUNT max = kAttnLanes / 2
      part[l] = part[l] + part[l + half];
    }
  }
  return part[0];
}

// x[e] += dx[e] for the first `size` values of n entries.
void residual(Activations x, const Activations dx, int n, int size) {
residual_entries:
#pragma omp for schedule(static)
  for (int e = 0; e < n; e++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxStep
    for (int i = 0; i < size; i++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxDim
#pragma HLS PIPELINE II = 1
      x[e][i] += dx[e][i];
    }
  }
}

// out[e * out_stride + i] = W[i] . x[e] for every row i of W (rows x cols at `offset`) and entry e < n.
// The banks hold a quarter of the tiles each; one iteration takes one tile from every bank, so on the
// card the four banks stream side by side (on the host the iterations are split over threads). `out`
// is an on-chip activation buffer (stride kMaxWidth) for the layers' matmuls, and the logits in DDR
// (stride vocab) for the classifier; inlined at each call, so each copy talks to one kind of memory.
void matmul_rows(float* out, int64_t out_stride, const QuantActivations xq, const QuantScales xs, int n,
                 const Banks& w, int64_t offset, int rows, int cols, int gs) {
#pragma HLS INLINE
  const int tpb = TilesPerBank(rows);
#if defined(FPGASERVE_HOST_SIMD) && !defined(FPGASERVE_PORTABLE_DOT)
  GroupSums x_sums;  // what the host's unsigned-by-signed multiply needs (dot_host.h)
  SumGroups(x_sums, xq, n, cols, gs);
#endif
tiles_of_bank:
#pragma omp for collapse(2) schedule(static)
  for (int t = 0; t < tpb; t++) {
    for (int b = 0; b < kBanks; b++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxVocab / kTileRows / kBanks
#pragma HLS UNROLL
      const int row0 = (b * tpb + t) * kTileRows;
      if (row0 >= rows) continue;
      const uint8_t* tile = w.b[b] + offset + (int64_t)t * Q8TileBytes(cols, gs);
      const int valid = rows - row0 < kTileRows ? rows - row0 : kTileRows;  // the last tile may be short
#if defined(FPGASERVE_HOST_SIMD) && !defined(FPGASERVE_PORTABLE_DOT)
      const TileOut to = {out + row0, out_stride, valid};
      TileDotsHost(to, tile, xq, xs, x_sums, n, cols / gs, gs);
#else
      TileDots dots;
      tile_dots(dots, tile, xq, xs, n, cols, gs);
    tile_out:
      for (int e = 0; e < n; e++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxStep
        float* to = out + (int64_t)e * out_stride + row0;
        for (int j = 0; j < valid; j++) {
#pragma HLS LOOP_TRIPCOUNT max = kTileRows
#pragma HLS PIPELINE II = 1
          to[j] = dots[e][j];
        }
      }
#endif
    }
  }
}

// A layer's matmul into an on-chip activation buffer (row e of `out` is entry e).
void matmul(Activations out, const QuantActivations xq, const QuantScales xs, int n, const Banks& w,
            int64_t offset, int rows, int cols, int gs) {
  matmul_rows(&out[0][0], kMaxWidth, xq, xs, n, w, offset, rows, cols, gs);
}

}  // namespace

#ifndef FPGASERVE_STEP_NAME
#define FPGASERVE_STEP_NAME fpgaserve_step
#endif
extern "C" void FPGASERVE_STEP_NAME(const uint8_t* w0, const uint8_t* w1, const uint8_t* w2, const uint8_t* w3,
                               KvValue* k_cache, KvValue* v_cache, const int32_t* entries, float* logits,
                               int n_entries, int n_slots, int cache_len) {
// Each weights bank, the two caches and the step buffers get their own AXI master so the link config
// can place them in separate DDR banks (kernel/link.cfg).
#pragma HLS INTERFACE m_axi port = w0 offset = slave bundle = gmem0 max_widen_bitwidth = 512
#pragma HLS INTERFACE m_axi port = w1 offset = slave bundle = gmem1 max_widen_bitwidth = 512
#pragma HLS INTERFACE m_axi port = w2 offset = slave bundle = gmem2 max_widen_bitwidth = 512
#pragma HLS INTERFACE m_axi port = w3 offset = slave bundle = gmem3 max_widen_bitwidth = 512
#pragma HLS INTERFACE m_axi port = k_cache offset = slave bundle = gmem4
#pragma HLS INTERFACE m_axi port = v_cache offset = slave bundle = gmem5
#pragma HLS INTERFACE m_axi port = entries offset = slave bundle = gmem6
#pragma HLS INTERFACE m_axi port = logits offset = slave bundle = gmem6
#pragma HLS INTERFACE s_axilite port = n_entries
#pragma HLS INTERFACE s_axilite port = n_slots
#pragma HLS INTERFACE s_axilite port = cache_len
#pragma HLS INTERFACE s_axilite port = return
  const Banks w = {{w0, w1, w2, w3}};
  const Shape p = ReadShape(w0);
  const int n = n_entries;
  const int gs = p.group_size;

  // On-chip state of the step.
  static_assert(kMaxDim <= kMaxWidth, "activation rows must hold dim");
  Activations x;    // (entry, dim) residual stream
  Activations xb;   // (entry, dim) normed input, then attention output
  Activations q;    // (entry, dim) queries
  Activations k;    // (entry, kv_dim) keys of this step's tokens
  Activations v;    // (entry, kv_dim) values of this step's tokens
  Activations hb;   // (entry, hidden_dim) FFN gate
  Activations hb2;  // (entry, hidden_dim) FFN up
  QuantActivations xq;  // (entry, width) int8 activations of the next matmul
  QuantScales xs;       // (entry, width / gs) their scales
#pragma HLS ARRAY_PARTITION variable = xq cyclic factor = 64 dim = 2
  int token[kMaxStep], pos[kMaxStep], slot[kMaxStep], out_row[kMaxStep];
  float rope_cos[kMaxStep][kMaxDim / 2];  // (entry, head_size / 2) RoPE rotation of each entry's pos
  float rope_sin[kMaxStep][kMaxDim / 2];

read_entries:
  for (int e = 0; e < n; e++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxStep
    token[e] = entries[e * kEntryFields + kEntryToken];
    pos[e] = entries[e * kEntryFields + kEntryPos];
    slot[e] = entries[e * kEntryFields + kEntrySlot];
    out_row[e] = entries[e * kEntryFields + kEntryOutRow];
  }

  // RoPE angles depend only on pos, so compute them once for all layers: theta_i = pos / 10000^(2i/hs).
rope_angles:
  for (int e = 0; e < n; e++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxStep
    for (int i = 0; i < p.head_size / 2; i++) {
#pragma HLS LOOP_TRIPCOUNT max = 64
      const float freq = 1.0f / powf(10000.0f, (float)(2 * i) / (float)p.head_size);
      const float angle = (float)pos[e] * freq;
      rope_cos[e][i] = cosf(angle);
      rope_sin[e][i] = sinf(angle);
    }
  }

  // Token embedding: dequantize each entry's row of the Q8_0 table.
  const int64_t emb = TensorOffset(w0, kTokenEmbedding);
embed:
  for (int e = 0; e < n; e++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxStep
    dequantize_row(x[e], w, emb, token[e], p.vocab_size, p.dim, gs);
  }

  // The cache is (layer, slot, kv head, pos, head_size): one head's keys over the positions are one
  // contiguous stream, which is how attention reads them.
  const int64_t head_stride = (int64_t)cache_len * p.head_size;
  const int64_t slot_stride = head_stride * p.n_kv_heads;
  const int64_t layer_stride = slot_stride * n_slots;
  int n_out = 0;  // entries that want logits
count_out:
  for (int e = 0; e < n; e++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxStep
    if (out_row[e] >= 0) n_out++;
  }

  // On the host one team of threads runs the whole forward pass: every thread walks the layers, and each
  // loop marked `omp for` (here and in the helpers) is split over the team, with a barrier after it. A
  // parallel region per loop cost a fork and a join ~150 times a step.
#pragma omp parallel
  {
layers:
  for (int l = 0; l < p.n_layers; l++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxLayers
    // Attention: q, k, v for every entry.
    norm_and_quantize(xb, xq, xs, x, w0 + TensorOffset(w0, TensorId(l, kRmsAtt)), n, p.dim, gs);
    matmul(q, xq, xs, n, w, TensorOffset(w0, TensorId(l, kWq)), p.dim, p.dim, gs);
    matmul(k, xq, xs, n, w, TensorOffset(w0, TensorId(l, kWk)), p.kv_dim, p.dim, gs);
    matmul(v, xq, xs, n, w, TensorOffset(w0, TensorId(l, kWv)), p.kv_dim, p.dim, gs);

    // RoPE on q and k (pairs within each head), then k and v into this layer's cache. Every entry's
    // k/v is written before any entry attends, so a prompt chunk sees its own earlier tokens.
  rope_and_cache:
#pragma omp for schedule(static)
    for (int e = 0; e < n; e++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxStep
      for (int i = 0; i < p.dim; i += 2) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxDim / 2
        const int f = (i % p.head_size) / 2;
        const float c = rope_cos[e][f], s = rope_sin[e][f];
        const float q0 = q[e][i], q1 = q[e][i + 1];
        q[e][i] = q0 * c - q1 * s;
        q[e][i + 1] = q0 * s + q1 * c;
        if (i < p.kv_dim) {
          const float k0 = k[e][i], k1 = k[e][i + 1];
          k[e][i] = k0 * c - k1 * s;
          k[e][i + 1] = k0 * s + k1 * c;
        }
      }
      const int64_t at = l * layer_stride + (int64_t)slot[e] * slot_stride + (int64_t)pos[e] * p.head_size;
    cache_heads:
      for (int hk = 0; hk < p.n_kv_heads; hk++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxHeads
#if defined(FPGASERVE_HOST_F16C) && !defined(FPGASERVE_PORTABLE_DOT)
        KvStoreHost(k_cache + at + hk * head_stride, k[e] + hk * p.head_size, p.head_size);
        KvStoreHost(v_cache + at + hk * head_stride, v[e] + hk * p.head_size, p.head_size);
#else
        for (int i = 0; i < p.head_size; i++) {
#pragma HLS LOOP_TRIPCOUNT max = 128
#pragma HLS PIPELINE II = 1
          k_cache[at + hk * head_stride + i] = KvFromFloat(k[e][hk * p.head_size + i]);
          v_cache[at + hk * head_stride + i] = KvFromFloat(v[e][hk * p.head_size + i]);
        }
#endif
      }
    }

    // Multi-head attention of each entry over its slot's cache, positions 0..pos. Query heads share
    // key/value heads in groups of kv_mul (grouped-query attention).
  attend:
#pragma omp for collapse(2) schedule(dynamic)
    for (int e = 0; e < n; e++) {
      for (int h = 0; h < p.n_heads; h++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxStep * kMaxHeads
        float att[kMaxSeqLen];  // (pos + 1) attention weights
        const float* qh = q[e] + h * p.head_size;
        const int64_t base = l * layer_stride + (int64_t)slot[e] * slot_stride + (h / p.kv_mul) * head_stride;
        const float inv_sqrt = 1.0f / sqrtf((float)p.head_size);
      // One key per cycle when a head's fp16 key fits a 512-bit beat (head_size 32), else head_size / 32
      // cycles: q.k is summed in kAttnLanes partial sums and a tree, so no float chain runs across a
      // key's values (on the host the lanes are SIMD lanes).
      scores:
        for (int t = 0; t <= pos[e]; t++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxSeqLen
#pragma HLS PIPELINE II = 1
          for (int i = 0; i < p.head_size; i += kImageAlign / (int)sizeof(KvValue)) {  // a line at a time
#pragma HLS LOOP_TRIPCOUNT max = 4
            HOST_PREFETCH(k_cache + base + (int64_t)(t + 8) * p.head_size + i);
            HOST_PREFETCH(v_cache + base + (int64_t)t * p.head_size + i);
          }
#if defined(FPGASERVE_HOST_F16C) && !defined(FPGASERVE_PORTABLE_DOT)
          att[t] = KvDotHost(qh, k_cache + base + (int64_t)t * p.head_size, p.head_size) * inv_sqrt;
#else
          att[t] = dot_kv(qh, k_cache + base + (int64_t)t * p.head_size, p.head_size) * inv_sqrt;
#endif
        }
        softmax(att, pos[e] + 1);
        float* out = xb[e] + h * p.head_size;
#if defined(FPGASERVE_HOST_F16C) && !defined(FPGASERVE_PORTABLE_DOT)
        if (KvWeightedSumHost(out, att, v_cache + base, pos[e] + 1, p.head_size)) continue;
#endif
        for (int i = 0; i < p.head_size; i++) {
#pragma HLS LOOP_TRIPCOUNT max = 128
          out[i] = 0.0f;
        }
      weighted_values:
        for (int t = 0; t <= pos[e]; t++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxSeqLen
#pragma HLS PIPELINE
          const KvValue* vt = v_cache + base + (int64_t)t * p.head_size;
          for (int i = 0; i < p.head_size; i++) {
#pragma HLS LOOP_TRIPCOUNT max = 128
            out[i] += att[t] * KvToFloat(vt[i]);
          }
        }
      }
    }

    // Output projection and residual.
#pragma omp for schedule(static)
    for (int e = 0; e < n; e++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxStep
      QuantizeGroups(xq[e], xs[e], xb[e], p.dim, gs);
    }
    matmul(xb, xq, xs, n, w, TensorOffset(w0, TensorId(l, kWo)), p.dim, p.dim, gs);
    residual(x, xb, n, p.dim);

    // FFN: w2(silu(w1 x) * w3 x), and residual.
    norm_and_quantize(xb, xq, xs, x, w0 + TensorOffset(w0, TensorId(l, kRmsFfn)), n, p.dim, gs);
    matmul(hb, xq, xs, n, w, TensorOffset(w0, TensorId(l, kW1)), p.hidden_dim, p.dim, gs);
    matmul(hb2, xq, xs, n, w, TensorOffset(w0, TensorId(l, kW3)), p.hidden_dim, p.dim, gs);
  swiglu:
#pragma omp for schedule(static)
    for (int e = 0; e < n; e++) {
      for (int i = 0; i < p.hidden_dim; i++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxHiddenDim
#pragma HLS PIPELINE II = 1
        const float g = hb[e][i];
        hb[e][i] = g / (1.0f + KernelExp(-g)) * hb2[e][i];
      }
      QuantizeGroups(xq[e], xs[e], hb[e], p.hidden_dim, gs);
    }
    matmul(xb, xq, xs, n, w, TensorOffset(w0, TensorId(l, kW2)), p.dim, p.hidden_dim, gs);
    residual(x, xb, n, p.dim);
  }

  // Final norm and classifier, only for the entries that asked for logits (row m of xq = out_row m), whose
  // rows go straight to the logits in DDR.
final_norm:
#pragma omp for schedule(static)
  for (int e = 0; e < n; e++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxStep
    if (out_row[e] < 0) continue;
    rmsnorm(xb[e], x[e], w0 + TensorOffset(w0, kRmsFinal), p.dim);
    QuantizeGroups(xq[out_row[e]], xs[out_row[e]], xb[e], p.dim, gs);
  }
  if (n_out > 0) {
    matmul_rows(logits, p.vocab_size, xq, xs, n_out, w, TensorOffset(w0, kClassifier), p.vocab_size, p.dim, gs);
  }
  }  // omp parallel
}
