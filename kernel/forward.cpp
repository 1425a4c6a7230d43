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
// scale per group, products summed in int32 within a group. Each weight row is read once per step and
// applied to every entry of the step, which is what makes batching pay: on the card the four DDR banks
// stream four rows at once; on the host (the simulated card, g++ -fopenmp) rows are split over threads.
//
// The file is HLS C++: fixed-size local buffers, bounded loops, no heap. g++ ignores the HLS pragmas,
// Vitis ignores the OpenMP ones.
#include <math.h>
#include <string.h>

#include "kernel/kernel.h"
#ifndef __SYNTHESIS__
#include "kernel/dot_host.h"  // the host's SIMD form of dot_lanes, bit-identical
#endif

namespace {

using namespace fpgaserve::kernel;

// Activation rows are as wide as the widest activation (the FFN's), so one buffer type serves all.
const int kMaxWidth = kMaxHiddenDim;
typedef float Activations[kMaxStep][kMaxWidth];
typedef int16_t QuantActivations[kMaxStep][kMaxWidth];  // int8 values, kept widened
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
  float sum = 0.0f;
exp_sum:
  for (int i = 0; i < size; i++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxSeqLen
    x[i] = expf(x[i] - max_val);
    sum += x[i];
  }
normalise:
  for (int i = 0; i < size; i++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxSeqLen
    x[i] /= sum;
  }
}

// Symmetric int8 per group of gs: q = round(x / s), s = max|x| / 127 (as runq.c's quantize()).
void quantize(int16_t* q, float* s, const float* x, int size, int gs) {
quantize_groups:
  for (int g = 0; g < size / gs; g++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxGroups
    float wmax = 0.0f;
  group_max:
    for (int i = 0; i < gs; i++) {
#pragma HLS LOOP_TRIPCOUNT max = 64
      const float a = x[g * gs + i] < 0.0f ? -x[g * gs + i] : x[g * gs + i];
      wmax = a > wmax ? a : wmax;
    }
    const float scale = wmax / 127.0f;
    const float inv = scale > 0.0f ? 1.0f / scale : 0.0f;
    s[g] = scale;
  group_round:
    for (int i = 0; i < gs; i++) {
#pragma HLS LOOP_TRIPCOUNT max = 64
      const float v = x[g * gs + i] * inv;  // in [-127, 127]; rounded half away from zero
      q[g * gs + i] = (int16_t)(v < 0.0f ? v - 0.5f : v + 0.5f);
    }
  }
}

// The dot product of one widened weight row w with one entry's activations x. Products are summed in
// int32 within a group, in kLanes partial sums (lane l takes elements 32j + 2l and 32j + 2l + 1, so the
// card's adder trees stay short and the host maps a lane to a SIMD lane); each group's lanes are then
// scaled by the product of the two groups' scales and accumulated in float, per lane; the lanes are
// summed pairwise at the end.
const int kLanes = 16;

[[maybe_unused]] float dot(const int16_t* w, const float* w_scale, const int16_t* x, const float* x_scale, int groups,
                           int gs) {
  float acc[kLanes];
#pragma HLS ARRAY_PARTITION variable = acc complete
  for (int l = 0; l < kLanes; l++) acc[l] = 0.0f;
dot_groups:
  for (int g = 0; g < groups; g++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxGroups
#pragma HLS PIPELINE II = 1
    int32_t lane[kLanes];
    for (int l = 0; l < kLanes; l++) lane[l] = 0;
  dot_group:
    for (int k = g * gs; k < (g + 1) * gs; k += 2 * kLanes) {
#pragma HLS LOOP_TRIPCOUNT max = 2
      for (int l = 0; l < kLanes; l++) {
#pragma HLS UNROLL
        lane[l] += (int32_t)w[k + 2 * l] * x[k + 2 * l] + (int32_t)w[k + 2 * l + 1] * x[k + 2 * l + 1];
      }
    }
    const float scale = w_scale[g] * x_scale[g];
    for (int l = 0; l < kLanes; l++) {
#pragma HLS UNROLL
      acc[l] = fmaf((float)lane[l], scale, acc[l]);  // fused: one rounding, as the host's FMA
    }
  }
sum_lanes:
  for (int half = kLanes / 2; half > 0; half /= 2) {
#pragma HLS LOOP_TRIPCOUNT max = 4
    for (int l = 0; l < half; l++) {
#pragma HLS LOOP_TRIPCOUNT max = kLanes / 2
      acc[l] = acc[l] + acc[l + half];
    }
  }
  return acc[0];
}

// out[c] = W_row . x[e0 + c] for the `count` (1..kDotBlock) entries from e0. On the host the block's
// chains of work overlap in registers; on the card each entry is a pass of the pipelined dot.
const int kDotBlock = 8;

void dot_block(float* out, const int16_t* w, const float* w_scale, const QuantActivations xq, const QuantScales xs,
               int e0, int count, int cols, int gs) {
#if defined(FPGASERVE_HOST_SIMD) && !defined(FPGASERVE_PORTABLE_DOT)
  const int16_t* x[kDotBlock];
  const float* x_scale[kDotBlock];
  for (int c = 0; c < count; c++) {
#pragma HLS LOOP_TRIPCOUNT max = kDotBlock
    x[c] = xq[e0 + c];
    x_scale[c] = xs[e0 + c];
  }
  DotBlockHost(out, w, w_scale, x, x_scale, count, cols / gs, gs);
#else
block_dots:
  for (int c = 0; c < count; c++) {
#pragma HLS LOOP_TRIPCOUNT max = kDotBlock
    out[c] = dot(w, w_scale, xq[e0 + c], xs[e0 + c], cols / gs, gs);
  }
#endif
}

// Row `local_row` of a Q8_0 matrix at `offset` in one bank, widened to int16 with its scales as floats:
// read once from DDR, then used for every entry of the step.
void load_row(int16_t* w, float* w_scale, const uint8_t* bank, int64_t offset, int local_row, int rows, int cols,
              int gs) {
  const uint8_t* q = bank + offset + (int64_t)local_row * cols;
  const uint8_t* s = bank + offset + Q8ScalesOffset(rows, cols) + (int64_t)local_row * (cols / gs) * 4;
// 64 values a cycle: one 512-bit beat of the bank (the port is widened to 512 bits, rows start on
// 64-byte boundaries) into a row buffer partitioned to take them.
load_values:
  for (int j = 0; j < cols; j++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxHiddenDim
#pragma HLS PIPELINE II = 1
#pragma HLS UNROLL factor = 64
    w[j] = (int8_t)q[j];
  }
load_scales:
  for (int g = 0; g < cols / gs; g++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxGroups
#pragma HLS PIPELINE II = 1
#pragma HLS UNROLL factor = 16
    w_scale[g] = LoadF32(s + 4 * g);
  }
}

// a . b over n floats (n % kAttnLanes == 0): kAttnLanes partial sums, then a pairwise tree.
const int kAttnLanes = 16;
float dot_f32(const float* a, const float* b, int n) {
  float part[kAttnLanes];
#pragma HLS ARRAY_PARTITION variable = part complete
  for (int l = 0; l < kAttnLanes; l++) part[l] = 0.0f;
dot_f32_chunks:
  for (int i = 0; i < n; i += kAttnLanes) {
#pragma HLS LOOP_TRIPCOUNT max = 8
    for (int l = 0; l < kAttnLanes; l++) {
#pragma HLS UNROLL
      part[l] += a[i + l] * b[i + l];
    }
  }
dot_f32_tree:
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
  for (int e = 0; e < n; e++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxStep
    for (int i = 0; i < size; i++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxDim
#pragma HLS PIPELINE II = 1
      x[e][i] += dx[e][i];
    }
  }
}

// The rows of one iteration: row r of each of the four banks, widened. Each bank has its own buffer so
// the four loads (one AXI port each) and the four rows' dots proceed side by side on the card.
struct BankRows {
  int16_t row[kBanks][kMaxWidth];
  float scale[kBanks][kMaxGroups];
};

// Loads row r of every bank (the rows that exist: the last bank may be short).
void load_bank_rows(BankRows& rows_of, const Banks& w, int64_t offset, int r, int rpb, int rows, int cols, int gs) {
#pragma HLS ARRAY_PARTITION variable = rows_of.row complete dim = 1
#pragma HLS ARRAY_PARTITION variable = rows_of.row cyclic factor = 64 dim = 2
#pragma HLS ARRAY_PARTITION variable = rows_of.scale complete dim = 1
load_banks:
  for (int b = 0; b < kBanks; b++) {
#pragma HLS UNROLL
    if (b * rpb + r < rows) load_row(rows_of.row[b], rows_of.scale[b], w.b[b], offset, r, rows, cols, gs);
  }
}

// out[e * out_stride + i] = W[i] . x[e] for every row i of W (rows x cols at `offset`) and entry e < n.
// The banks hold a quarter of the rows each; one iteration takes one row from every bank. `out` is an
// on-chip activation buffer (stride kMaxWidth) for the layers' matmuls, and the logits in DDR (stride
// vocab) for the classifier; inlined at each call, so each copy talks to one kind of memory.
void matmul_rows(float* out, int64_t out_stride, const QuantActivations xq, const QuantScales xs, int n,
                 const Banks& w, int64_t offset, int rows, int cols, int gs) {
#pragma HLS INLINE
  const int rpb = RowsPerBank(rows);
rows_of_bank:
#pragma omp parallel for schedule(static)
  for (int r = 0; r < rpb; r++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxVocab / kBanks
    BankRows rows_of;
    load_bank_rows(rows_of, w, offset, r, rpb, rows, cols, gs);
  bank_dots:
    for (int b = 0; b < kBanks; b++) {
#pragma HLS UNROLL
      const int i = b * rpb + r;
      if (i >= rows) continue;
    entries:
      for (int e = 0; e < n; e += kDotBlock) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxStep / kDotBlock
        const int count = n - e < kDotBlock ? n - e : kDotBlock;
        float dots[kDotBlock];
        dot_block(dots, rows_of.row[b], rows_of.scale[b], xq, xs, e, count, cols, gs);
        for (int c = 0; c < count; c++) {
#pragma HLS LOOP_TRIPCOUNT max = kDotBlock
          out[(int64_t)(e + c) * out_stride + i] = dots[c];
        }
      }
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
                               float* k_cache, float* v_cache, const int32_t* entries, float* logits,
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
  const int emb_rpb = RowsPerBank(p.vocab_size);
embed:
  for (int e = 0; e < n; e++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxStep
    int16_t row[kMaxDim];
    float row_scale[kMaxGroups];
    const int b = token[e] / emb_rpb;
    load_row(row, row_scale, w.b[b], emb, token[e] - b * emb_rpb, p.vocab_size, p.dim, gs);
    for (int j = 0; j < p.dim; j++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxDim
#pragma HLS PIPELINE II = 1
      x[e][j] = (float)row[j] * row_scale[j / gs];
    }
  }

  const int64_t layer_stride = (int64_t)n_slots * cache_len * p.kv_dim;  // one layer of the cache
layers:
  for (int l = 0; l < p.n_layers; l++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxLayers
    // Attention: q, k, v for every entry.
#pragma omp parallel for schedule(static)
    for (int e = 0; e < n; e++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxStep
      rmsnorm(xb[e], x[e], w0 + TensorOffset(w0, TensorId(l, kRmsAtt)), p.dim);
      quantize(xq[e], xs[e], xb[e], p.dim, gs);
    }
    matmul(q, xq, xs, n, w, TensorOffset(w0, TensorId(l, kWq)), p.dim, p.dim, gs);
    matmul(k, xq, xs, n, w, TensorOffset(w0, TensorId(l, kWk)), p.kv_dim, p.dim, gs);
    matmul(v, xq, xs, n, w, TensorOffset(w0, TensorId(l, kWv)), p.kv_dim, p.dim, gs);

    // RoPE on q and k (pairs within each head), then k and v into this layer's cache. Every entry's
    // k/v is written before any entry attends, so a prompt chunk sees its own earlier tokens.
  rope_and_cache:
#pragma omp parallel for schedule(static)
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
      const int64_t at = l * layer_stride + ((int64_t)slot[e] * cache_len + pos[e]) * p.kv_dim;
      for (int i = 0; i < p.kv_dim; i++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxDim
#pragma HLS PIPELINE II = 1
        k_cache[at + i] = k[e][i];
        v_cache[at + i] = v[e][i];
      }
    }

    // Multi-head attention of each entry over its slot's cache, positions 0..pos. Query heads share
    // key/value heads in groups of kv_mul (grouped-query attention).
  attend:
#pragma omp parallel for collapse(2) schedule(dynamic)
    for (int e = 0; e < n; e++) {
      for (int h = 0; h < p.n_heads; h++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxStep * kMaxHeads
        float att[kMaxSeqLen];  // (pos + 1) attention weights
        const float* qh = q[e] + h * p.head_size;
        const int64_t base = l * layer_stride + (int64_t)slot[e] * cache_len * p.kv_dim +
                             (h / p.kv_mul) * p.head_size;
        const float inv_sqrt = 1.0f / sqrtf((float)p.head_size);
      // One key per cycle when a head's key fits a 512-bit beat (head_size 16), else head_size / 16
      // cycles: q.k is summed in kAttnLanes partial sums and a tree, so no float chain runs across a
      // key's values (on the host the lanes are SIMD lanes).
      scores:
        for (int t = 0; t <= pos[e]; t++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxSeqLen
#pragma HLS PIPELINE II = 1
          att[t] = dot_f32(qh, k_cache + base + (int64_t)t * p.kv_dim, p.head_size) * inv_sqrt;
        }
        softmax(att, pos[e] + 1);
        float* out = xb[e] + h * p.head_size;
        for (int i = 0; i < p.head_size; i++) {
#pragma HLS LOOP_TRIPCOUNT max = 128
          out[i] = 0.0f;
        }
      weighted_values:
        for (int t = 0; t <= pos[e]; t++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxSeqLen
#pragma HLS PIPELINE
          const float* vt = v_cache + base + (int64_t)t * p.kv_dim;
          for (int i = 0; i < p.head_size; i++) {
#pragma HLS LOOP_TRIPCOUNT max = 128
            out[i] += att[t] * vt[i];
          }
        }
      }
    }

    // Output projection and residual.
#pragma omp parallel for schedule(static)
    for (int e = 0; e < n; e++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxStep
      quantize(xq[e], xs[e], xb[e], p.dim, gs);
    }
    matmul(xb, xq, xs, n, w, TensorOffset(w0, TensorId(l, kWo)), p.dim, p.dim, gs);
    residual(x, xb, n, p.dim);

    // FFN: w2(silu(w1 x) * w3 x), and residual.
#pragma omp parallel for schedule(static)
    for (int e = 0; e < n; e++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxStep
      rmsnorm(xb[e], x[e], w0 + TensorOffset(w0, TensorId(l, kRmsFfn)), p.dim);
      quantize(xq[e], xs[e], xb[e], p.dim, gs);
    }
    matmul(hb, xq, xs, n, w, TensorOffset(w0, TensorId(l, kW1)), p.hidden_dim, p.dim, gs);
    matmul(hb2, xq, xs, n, w, TensorOffset(w0, TensorId(l, kW3)), p.hidden_dim, p.dim, gs);
  swiglu:
#pragma omp parallel for schedule(static)
    for (int e = 0; e < n; e++) {
      for (int i = 0; i < p.hidden_dim; i++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxHiddenDim
#pragma HLS PIPELINE II = 1
        const float g = hb[e][i];
        hb[e][i] = g / (1.0f + expf(-g)) * hb2[e][i];
      }
      quantize(xq[e], xs[e], hb[e], p.hidden_dim, gs);
    }
    matmul(xb, xq, xs, n, w, TensorOffset(w0, TensorId(l, kW2)), p.dim, p.hidden_dim, gs);
    residual(x, xb, n, p.dim);
  }

  // Final norm and classifier, only for the entries that asked for logits (row m of xq = out_row m), whose
  // rows go straight to the logits in DDR.
  int n_out = 0;
final_norm:
  for (int e = 0; e < n; e++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxStep
    if (out_row[e] < 0) continue;
    rmsnorm(xb[e], x[e], w0 + TensorOffset(w0, kRmsFinal), p.dim);
    quantize(xq[out_row[e]], xs[out_row[e]], xb[e], p.dim, gs);
    n_out++;
  }
  if (n_out > 0) {
    matmul_rows(logits, p.vocab_size, xq, xs, n_out, w, TensorOffset(w0, kClassifier), p.vocab_size, p.dim, gs);
  }
}
