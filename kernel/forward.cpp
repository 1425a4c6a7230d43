// fpgaserve_host_step: the simulated card's step, the host's implementation of the card kernel
// (kernel/card/) for the same contract (kernel.h), computing the same bits (tests/kernel/card_sim_test.cpp).
//
//   entries ─> embed (Q8_0 row -> x)
//   for each layer:
//     x ─> rmsnorm ─> quantize ─> wq,wk,wv ─> RoPE ─> k,v to cache[layer][slot][pos]   (all entries)
//       ─> attention of each entry over its slot's cache[0..pos] ─> quantize ─> wo ─> x += .
//     x ─> rmsnorm ─> quantize ─> w1,w3 ─> SwiGLU ─> quantize ─> w2 ─> x += .
//   x ─> rmsnorm ─> quantize (entries that want logits) ─> classifier ─> logits[out_row]
//
// Matmuls are Q8_0 x Q8_0 like llama2.c's runq.c: weights and activations are int8 with one fp32 scale
// per group, products summed in int32 within a group. Weights are stored in tiles of 16 rows (layout in
// kernel.h); each tile is read once per step and applied to every entry of the step, which is what makes
// batching pay. Here the tiles are split over an OpenMP team and multiplied with the host's SIMD
// (dot_host.h); the card streams them from every memory port into its PE arrays.
//
// What keeps the bits equal to the card's: every float sum runs in the order the card's pipelines run it
// (kernel_math.h: interleaved partials and halving trees), no fused multiply-adds (-ffp-contract=off and
// none written), subnormals flushed to zero as the card's float cores do (FlushDenormals below), and
// RoPE from the host's table in the step input. FPGASERVE_PORTABLE_DOT builds the plain-C++ forms instead
// of the SIMD ones (hosts without AVX2, and a test that both agree).
#include <math.h>
#include <string.h>
#if defined(__SSE__)
#include <xmmintrin.h>
#endif

#include "kernel/dot_host.h"
#include "kernel/kernel.h"
#include "kernel/kernel_math.h"

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
  float rms_eps;
  int head_size, kv_dim, kv_mul, kv_stride;  // derived; kv_stride: a cached head's padded values
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
  s.rms_eps = LoadF32(w0 + 4 * kFieldRmsEps);
  s.head_size = s.dim / s.n_heads;
  s.kv_dim = s.head_size * s.n_kv_heads;
  s.kv_mul = s.n_heads / s.n_kv_heads;
  s.kv_stride = KvHeadStride(s.head_size);
  return s;
}

int64_t TensorOffset(const uint8_t* w0, int id) { return LoadI64(w0 + kHeaderBytes + 8 * id); }

// The card's float cores treat subnormal inputs and results as zero; so does the host while this lives
// (per thread: MXCSR's flush-to-zero and denormals-are-zero bits), restoring the caller's mode after.
class FlushDenormals {
 public:
#if defined(__SSE__)
  FlushDenormals() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | 0x8040u); }
  ~FlushDenormals() { _mm_setcsr(saved_); }

 private:
  unsigned saved_;
#else
#error "the simulated card needs SSE's flush-to-zero mode to compute the card's bits"
#endif
};

// ---- Leaf operations ----

// o = w * x / rms(x), for `size` values (kernel_math.h's order).
void rmsnorm(float* o, const float* x, const uint8_t* weight, int size, float eps) {
  const float f = RmsFactor(SumSquares(x, size), size, eps);
  for (int j = 0; j < size; j++) o[j] = LoadF32(weight + 4 * j) * (f * x[j]);
}

// xb[e] = rmsnorm(x[e]) and its int8 form in xq/xs, for the n entries: the input of a layer's attention
// or FFN matmuls.
void norm_and_quantize(Activations xb, QuantActivations xq, QuantScales xs, const Activations x, const uint8_t* weight,
                       int n, int dim, int gs, float eps) {
#pragma omp for schedule(static)
  for (int e = 0; e < n; e++) {
    rmsnorm(xb[e], x[e], weight, dim, eps);
    QuantizeGroups(xq[e], xs[e], xb[e], dim, gs);
  }
}

// The memory ports of the weights image.
struct Ports {
  const uint8_t* const* p;
};

// x = row i of a Q8_0 matrix, dequantized (the token embedding: one row per entry).
void dequantize_row(float* x, Ports w, int64_t offset, int i, int rows, int cols, int gs) {
  const int tpp = TilesPerPort(rows), t = i / kTileRows, j = i % kTileRows;
  const uint8_t* tile = w.p[t / tpp] + offset + (int64_t)(t % tpp) * Q8TileBytes(cols, gs);
  for (int g = 0; g < cols / gs; g++) {
    const uint8_t* group = tile + g * Q8GroupBytes(gs);
    const float scale = LoadF32(group + Q8ScalesAt(gs) + 4 * j);
    for (int s = 0; s < gs / kTileBeatValues; s++) {
      for (int k = 0; k < kTileBeatValues; k++) {
        x[g * gs + s * kTileBeatValues + k] = (float)(int8_t)group[s * kImageAlign + j * kTileBeatValues + k] * scale;
      }
    }
  }
}

#if !defined(FPGASERVE_HOST_SIMD) || defined(FPGASERVE_PORTABLE_DOT)
// Row j of one tile . x[e] for the n entries, into out (entry e's row at out + e * stride, the first
// `valid` rows): per group the int32 sum of the products, then ScaledGroup into the running dot.
void tile_dots(float* out, int64_t stride, int valid, const uint8_t* tile, const QuantActivations xq,
               const QuantScales xs, int n, int cols, int gs) {
  for (int e = 0; e < n; e++) {
    float dot[kTileRows];
    for (int g = 0; g < cols / gs; g++) {
      const uint8_t* group = tile + g * Q8GroupBytes(gs);
      for (int j = 0; j < kTileRows; j++) {
        int32_t sum = 0;
        for (int s = 0; s < gs / kTileBeatValues; s++) {
          for (int k = 0; k < kTileBeatValues; k++) {
            sum += (int32_t)(int8_t)group[s * kImageAlign + j * kTileBeatValues + k] *
                   xq[e][g * gs + s * kTileBeatValues + k];
          }
        }
        const float prod = ScaledGroup(sum, LoadF32(group + Q8ScalesAt(gs) + 4 * j), xs[e][g]);
        dot[j] = g == 0 ? prod : dot[j] + prod;
      }
    }
    for (int j = 0; j < valid; j++) out[e * stride + j] = dot[j];
  }
}
#endif

// q . k of every cached key 0..count-1 of one head (keys `stride` values apart), times inv_sqrt.
void scores(float* att, const float* q, const KvValue* k, int count, int stride, float inv_sqrt) {
  for (int t = 0; t < count; t++) {
    __builtin_prefetch(k + (int64_t)(t + 8) * stride);
#if defined(FPGASERVE_HOST_F16C) && !defined(FPGASERVE_PORTABLE_DOT)
    att[t] = KvDotHost(q, k + (int64_t)t * stride, stride / kWordHalves) * inv_sqrt;
#else
    att[t] = KvDot(q, k + (int64_t)t * stride, stride / kWordHalves) * inv_sqrt;
#endif
  }
}

// The attention output of one query head (out, head_size values) from its scores att[0..count) and its
// cached values (`stride` apart): kernel_math.h's online softmax, position t in lane t % kPartials, in the
// card's order. The weights go a block of kPartials positions at a time, one per lane (the lanes are
// independent, so the block vectorises); the values are then a multiply-add per value and position.
void attend(float* out, const float* att, const KvValue* v, int count, int stride, int head_size) {
  static_assert(kPartials == 8, "dot_host.h's KvOnlineSumHost takes eight lanes");
  float lane_max[kPartials], lane_sum[kPartials];
  for (int k = 0; k < kPartials; k++) {
    lane_max[k] = kLaneEmpty;
    lane_sum[k] = 0.0f;
  }
  float c[kMaxSeqLen], p[kMaxSeqLen];  // each position's OnlineWeight
  int t = 0;
  for (; t + kPartials <= count; t += kPartials) {
    for (int k = 0; k < kPartials; k++) {
      const OnlineWeight w = OnlineStep(&lane_max[k], att[t + k]);
      lane_sum[k] = Rescaled(lane_sum[k], w, 1.0f);
      c[t + k] = w.c;
      p[t + k] = w.p;
    }
  }
  for (; t < count; t++) {
    const int k = t % kPartials;
    const OnlineWeight w = OnlineStep(&lane_max[k], att[t]);
    lane_sum[k] = Rescaled(lane_sum[k], w, 1.0f);
    c[t] = w.c;
    p[t] = w.p;
  }
  float f[kPartials];
  const float inv = OnlineMerge(lane_max, lane_sum, f);
  alignas(32) float acc[kPartials][kMaxHeadSize];
  for (int k = 0; k < kPartials; k++) {
    for (int i = 0; i < stride; i++) acc[k][i] = 0.0f;
  }
#if defined(FPGASERVE_HOST_F16C) && !defined(FPGASERVE_PORTABLE_DOT)
  KvOnlineSumHost(acc, c, p, v, count, stride);
#else
  for (t = 0; t < count; t++) {
    float* at = acc[t % kPartials];
    const OnlineWeight w = {c[t], p[t]};
    for (int i = 0; i < stride; i++) at[i] = Rescaled(at[i], w, KvToFloat(v[(int64_t)t * stride + i]));
  }
#endif
  for (int i = 0; i < head_size; i++) {
    float lanes[kPartials];
    for (int k = 0; k < kPartials; k++) lanes[k] = acc[k][i];
    out[i] = OnlineOut(lanes, f, inv);
  }
}

// x[e] += dx[e] for the first `size` values of n entries.
void residual(Activations x, const Activations dx, int n, int size) {
#pragma omp for schedule(static)
  for (int e = 0; e < n; e++) {
    for (int i = 0; i < size; i++) x[e][i] += dx[e][i];
  }
}

// out[e * out_stride + i] = W[i] . x[e] for every row i of W (rows x cols at `offset`) and entry e < n.
// Each port holds a block of the tiles; the tiles of all ports are split over the team. `out` is an
// activation buffer (stride kMaxWidth) for the layers' matmuls and the logits (stride vocab) for the
// classifier.
void matmul_rows(float* out, int64_t out_stride, const QuantActivations xq, const QuantScales xs, int n, Ports w,
                 int64_t offset, int rows, int cols, int gs) {
  const int tpp = TilesPerPort(rows);
#if defined(FPGASERVE_HOST_SIMD) && !defined(FPGASERVE_PORTABLE_DOT)
  GroupSums x_sums;  // what the host's unsigned-by-signed multiply needs (dot_host.h)
  SumGroups(x_sums, xq, n, cols, gs);
#endif
#pragma omp for collapse(2) schedule(static)
  for (int t = 0; t < tpp; t++) {
    for (int b = 0; b < kMemPorts; b++) {
      const int row0 = (b * tpp + t) * kTileRows;
      if (row0 >= rows) continue;
      const uint8_t* tile = w.p[b] + offset + (int64_t)t * Q8TileBytes(cols, gs);
      const int valid = rows - row0 < kTileRows ? rows - row0 : kTileRows;  // the last tile may be short
#if defined(FPGASERVE_HOST_SIMD) && !defined(FPGASERVE_PORTABLE_DOT)
      const TileOut to = {out + row0, out_stride, valid};
      TileDotsHost(to, tile, xq, xs, x_sums, n, cols / gs, gs);
#else
      tile_dots(out + row0, out_stride, valid, tile, xq, xs, n, cols, gs);
#endif
    }
  }
}

// A layer's matmul into an activation buffer (row e of `out` is entry e).
void matmul(Activations out, const QuantActivations xq, const QuantScales xs, int n, Ports w, int64_t offset, int rows,
            int cols, int gs) {
  matmul_rows(&out[0][0], kMaxWidth, xq, xs, n, w, offset, rows, cols, gs);
}

}  // namespace

#ifndef FPGASERVE_STEP_NAME
#define FPGASERVE_STEP_NAME fpgaserve_host_step
#endif
extern "C" void FPGASERVE_STEP_NAME(const uint8_t* const* ports, KvValue* k_cache, KvValue* v_cache,
                                    const uint8_t* input, float* logits, int n_entries, int n_slots, int cache_len) {
  const Ports w = {ports};
  const uint8_t* w0 = ports[0];
  const Shape p = ReadShape(w0);
  const int n = n_entries;
  const int gs = p.group_size;

  // The step's state; on the simulated card's own large stack.
  static_assert(kMaxDim <= kMaxWidth, "activation rows must hold dim");
  Activations x;        // (entry, dim) residual stream
  Activations xb;       // (entry, dim) normed input, then attention output
  Activations q;        // (entry, dim) queries
  Activations k;        // (entry, kv_dim) keys of this step's tokens
  Activations v;        // (entry, kv_dim) values of this step's tokens
  Activations hb;       // (entry, hidden_dim) FFN gate
  Activations hb2;      // (entry, hidden_dim) FFN up
  QuantActivations xq;  // (entry, width) int8 activations of the next matmul
  QuantScales xs;       // (entry, width / gs) their scales
  int token[kMaxStep], pos[kMaxStep], slot[kMaxStep], out_row[kMaxStep];
  for (int e = 0; e < n; e++) {
    const uint8_t* at = input + 4 * kEntryFields * e;
    token[e] = LoadI32(at + 4 * kEntryToken);
    pos[e] = LoadI32(at + 4 * kEntryPos);
    slot[e] = LoadI32(at + 4 * kEntrySlot);
    out_row[e] = LoadI32(at + 4 * kEntryOutRow);
  }
  // (cos, sin) of pair f of entry e: rope + e * kRopeBytes / 4 + 2 f.
  const float* rope = reinterpret_cast<const float*>(input + kInputEntryBytes);

  const int64_t emb = TensorOffset(w0, kTokenEmbedding);
  for (int e = 0; e < n; e++) dequantize_row(x[e], w, emb, token[e], p.vocab_size, p.dim, gs);

  // The cache is (layer, slot, kv head, pos, kv_stride): one head's keys over the positions are one
  // contiguous stream, which is how attention reads them.
  const int64_t head_stride = (int64_t)cache_len * p.kv_stride;
  const int64_t slot_stride = head_stride * p.n_kv_heads;
  const int64_t layer_stride = slot_stride * n_slots;
  int n_out = 0;  // entries that want logits
  for (int e = 0; e < n; e++) {
    if (out_row[e] >= 0) n_out++;
  }
  const float inv_sqrt = 1.0f / sqrtf((float)p.head_size);

  // One team of threads runs the whole forward pass: every thread walks the layers, and each loop marked
  // `omp for` (here and in the helpers) is split over the team, with a barrier after it.
#pragma omp parallel
  {
    const FlushDenormals flush;  // each thread of the team
    for (int l = 0; l < p.n_layers; l++) {
      // Attention: q, k, v for every entry.
      norm_and_quantize(xb, xq, xs, x, w0 + TensorOffset(w0, TensorId(l, kRmsAtt)), n, p.dim, gs, p.rms_eps);
      matmul(q, xq, xs, n, w, TensorOffset(w0, TensorId(l, kWq)), p.dim, p.dim, gs);
      matmul(k, xq, xs, n, w, TensorOffset(w0, TensorId(l, kWk)), p.kv_dim, p.dim, gs);
      matmul(v, xq, xs, n, w, TensorOffset(w0, TensorId(l, kWv)), p.kv_dim, p.dim, gs);

      // RoPE on q and k (pairs within each head), then k and v into this layer's cache, each head padded
      // with zeros to whole words. Every entry's k/v is written before any entry attends, so a prompt chunk
      // sees its own earlier tokens.
#pragma omp for schedule(static)
      for (int e = 0; e < n; e++) {
        const float* r = rope + e * (kRopeBytes / 4);
        for (int i = 0; i < p.dim; i += 2) {
          const int f = (i % p.head_size) / 2;
          const float c = r[2 * f], s = r[2 * f + 1];
          const float q0 = q[e][i], q1 = q[e][i + 1];
          q[e][i] = q0 * c - q1 * s;
          q[e][i + 1] = q0 * s + q1 * c;
          if (i < p.kv_dim) {
            const float k0 = k[e][i], k1 = k[e][i + 1];
            k[e][i] = k0 * c - k1 * s;
            k[e][i + 1] = k0 * s + k1 * c;
          }
        }
        const int64_t at = l * layer_stride + (int64_t)slot[e] * slot_stride + (int64_t)pos[e] * p.kv_stride;
        for (int hk = 0; hk < p.n_kv_heads; hk++) {
          KvValue* kc = k_cache + at + hk * head_stride;
          KvValue* vc = v_cache + at + hk * head_stride;
#if defined(FPGASERVE_HOST_F16C) && !defined(FPGASERVE_PORTABLE_DOT)
          KvStoreHost(kc, k[e] + hk * p.head_size, p.head_size);
          KvStoreHost(vc, v[e] + hk * p.head_size, p.head_size);
#else
          for (int i = 0; i < p.head_size; i++) {
            kc[i] = KvFromFloat(k[e][hk * p.head_size + i]);
            vc[i] = KvFromFloat(v[e][hk * p.head_size + i]);
          }
#endif
          for (int i = p.head_size; i < p.kv_stride; i++) kc[i] = vc[i] = 0;
        }
      }

      // Multi-head attention of each entry over its slot's cache, positions 0..pos. Query heads share
      // key/value heads in groups of kv_mul (grouped-query attention).
#pragma omp for collapse(2) schedule(dynamic)
      for (int e = 0; e < n; e++) {
        for (int h = 0; h < p.n_heads; h++) {
          float att[kMaxSeqLen];   // (pos + 1) scores, all written by scores()
          att[0] = 0.0f;           // g++ without -march=native cannot see that and warns attend reads att[0]
          float qh[kMaxHeadSize];  // the head's query, padded with zeros as the cached keys are
          for (int i = 0; i < p.kv_stride; i++) qh[i] = i < p.head_size ? q[e][h * p.head_size + i] : 0.0f;
          const int64_t base = l * layer_stride + (int64_t)slot[e] * slot_stride + (h / p.kv_mul) * head_stride;
          scores(att, qh, k_cache + base, pos[e] + 1, p.kv_stride, inv_sqrt);
          attend(xb[e] + h * p.head_size, att, v_cache + base, pos[e] + 1, p.kv_stride, p.head_size);
        }
      }

      // Output projection and residual.
#pragma omp for schedule(static)
      for (int e = 0; e < n; e++) QuantizeGroups(xq[e], xs[e], xb[e], p.dim, gs);
      matmul(xb, xq, xs, n, w, TensorOffset(w0, TensorId(l, kWo)), p.dim, p.dim, gs);
      residual(x, xb, n, p.dim);

      // FFN: w2(silu(w1 x) * w3 x), and residual.
      norm_and_quantize(xb, xq, xs, x, w0 + TensorOffset(w0, TensorId(l, kRmsFfn)), n, p.dim, gs, p.rms_eps);
      matmul(hb, xq, xs, n, w, TensorOffset(w0, TensorId(l, kW1)), p.hidden_dim, p.dim, gs);
      matmul(hb2, xq, xs, n, w, TensorOffset(w0, TensorId(l, kW3)), p.hidden_dim, p.dim, gs);
#pragma omp for schedule(static)
      for (int e = 0; e < n; e++) {
        for (int i = 0; i < p.hidden_dim; i++) hb[e][i] = Silu(hb[e][i]) * hb2[e][i];
        QuantizeGroups(xq[e], xs[e], hb[e], p.hidden_dim, gs);
      }
      matmul(xb, xq, xs, n, w, TensorOffset(w0, TensorId(l, kW2)), p.dim, p.hidden_dim, gs);
      residual(x, xb, n, p.dim);
    }

    // Final norm and classifier, only for the entries that asked for logits (row m of xq = out_row m), whose
    // rows go straight to the logits.
#pragma omp for schedule(static)
    for (int e = 0; e < n; e++) {
      if (out_row[e] < 0) continue;
      rmsnorm(xb[e], x[e], w0 + TensorOffset(w0, kRmsFinal), p.dim, p.rms_eps);
      QuantizeGroups(xq[out_row[e]], xs[out_row[e]], xb[e], p.dim, gs);
    }
    if (n_out > 0) {
      matmul_rows(logits, p.vocab_size, xq, xs, n_out, w, TensorOffset(w0, kClassifier), p.vocab_size, p.dim, gs);
    }
  }  // omp parallel
}
