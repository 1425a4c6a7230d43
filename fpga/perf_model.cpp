#include "fpga/perf_model.h"

#include <algorithm>
#include <cmath>

namespace fpgaserve {
namespace {

// Cycles of one matmul (rows x cols, Q8_0 with group size gs) applied to n entries, and its DDR bytes.
struct Cycles {
  double load = 0, dot = 0;
};

Cycles MatmulCycles(double rows, double cols, double gs, int n, KernelDesign d, const PerfAssumptions& a) {
  Cycles c;
  const double groups = cols / gs;
  // rows_of_bank: rows/4 iterations; in each, the four banks' rows load side by side (a buffer per
  // bank) at 64 int8 a cycle (load_values, unrolled x64 on a 512-bit port) plus 16 scales a cycle, then
  // each bank's row is dotted with every entry: dot_groups at II=1 (the row buffer partitioned x64),
  // one pass per entry.
  const double rows_per_bank = std::ceil(rows / a.banks);
  if (d == KernelDesign::kAsWritten) {
    c.load = rows_per_bank * (cols / 64 + groups / 16 + 2 * a.pipeline_depth);  // two loops, two fills
    c.dot = rows_per_bank * n * (groups + a.pipeline_depth);
  } else {
    c.load = rows_per_bank * (cols / 64 + groups / 16 + a.pipeline_depth);  // values and scales in one burst
    // Proposed: the entries of a dot block interleaved in one pipeline (their fill paid once), and the
    // next row's load overlapped with this row's dots (see EstimateStep).
    c.dot = rows_per_bank * n * (groups + a.pipeline_depth / 4.0);
  }
  return c;
}

}  // namespace

StepEstimate EstimateStep(const ModelConfig& m, int batch, int pos, KernelDesign design, const PerfAssumptions& a) {
  StepEstimate e;
  e.batch = batch;
  e.pos = pos;
  const double hz = a.kernel_mhz * 1e6;
  const double d = m.dim, h = m.hidden_dim, kv = m.kv_dim(), hs = m.head_size(), gs = m.group_size;
  const double L = m.n_layers, V = m.vocab_size, H = m.n_heads;
  const int n = batch;

  // Matmuls of a layer (wq, wk, wv, wo, w1, w3, w2) and the classifier.
  double load = 0, dot = 0;
  auto add = [&](double rows, double cols, int entries) {
    const Cycles c = MatmulCycles(rows, cols, gs, entries, design, a);
    load += c.load;
    dot += c.dot;
  };
  for (int l = 0; l < m.n_layers; l++) {
    add(d, d, n);
    add(kv, d, n);
    add(kv, d, n);
    add(d, d, n);
    add(h, d, n);
    add(h, d, n);
    add(d, h, n);
  }
  add(V, d, n);  // every entry of a decode step wants logits

  // Attention of one entry at position pos, per layer: each head scores pos+1 keys (a float sum chain of
  // head_size at II = fadd latency, 4-byte reads), softmax (max, exp-sum chain, normalise), and the
  // weighted sum of pos+1 values (II=1).
  const double t = pos + 1.0;
  double att_per_head;
  if (design == KernelDesign::kAsWritten) {
    // scores pipelined over keys, a key per 64-byte beat (head_size/16 beats); softmax; weighted values
    // pipelined over positions but chained on the per-element sums (II = fadd latency).
    att_per_head = t * std::max(1.0, hs / 16) + a.pipeline_depth + t * (2 + a.fadd_latency + 1) +
                   t * a.fadd_latency + a.pipeline_depth;
  } else {
    // Proposed: the weighted-value sums split into partial chains, so that loop also takes one
    // position per 64-byte beat.
    att_per_head = t * std::max(1.0, hs / 16) + a.pipeline_depth + t * (2 + a.fadd_latency + 1) +
                   t * std::max(1.0, hs / 16) + a.pipeline_depth;
  }
  const double attention = n * L * H * att_per_head;

  // The rest, per entry per layer: two rmsnorms (2 passes of dim each), three quantisations of dim and one
  // of hidden (max and round passes), RoPE (dim/2), cache writes (kv_dim), two residuals, SwiGLU (hidden).
  const double per_layer = 2 * 2 * d + 3 * 2 * d + 2 * h + d / 2 + kv + 2 * d + h;
  double other = n * (L * (per_layer + 10 * a.pipeline_depth) + 2 * d + 3 * d);  // + embedding, final norm
  if (design == KernelDesign::kProposed) other /= 4;  // these loops unrolled x4 as well

  e.weight_load_s = load / hz;
  e.dot_s = dot / hz;
  if (design == KernelDesign::kProposed) {  // load of the next row overlaps this row's dots
    const double overlapped = std::max(load, dot) / hz;
    e.weight_load_s = load >= dot ? overlapped : 0;
    e.dot_s = load >= dot ? 0 : overlapped;
  }
  e.attention_s = attention / hz;
  e.other_s = other / hz;
  e.kernel_s = e.weight_load_s + e.dot_s + e.attention_s + e.other_s;

  // DDR: every weight byte once per step (int8 values and fp32 scales), the caches read up to pos and
  // written at pos, the entries read and the logits written.
  const double params = L * (2 * d * d + 2 * kv * d + 3 * h * d) + V * d;
  const double weight_bytes = params * (1 + 4 / gs);
  const double kv_bytes = n * L * 2 * kv * 4 * (t + 1);
  e.ddr_bytes = weight_bytes + kv_bytes + n * 16 + n * V * 4;
  e.ddr_s = e.ddr_bytes / (a.banks * a.bank_gbps * 1e9);

  e.overhead_s = a.launch_us * 1e-6 + (n * V * 4) / (a.pcie_gbps * 1e9);
  e.step_s = std::max(e.kernel_s, e.ddr_s) + e.overhead_s;
  e.tokens_per_s = n / e.step_s;

  if (e.ddr_s >= e.kernel_s) {
    e.bound = "DDR";
  } else {
    const double parts[4] = {e.weight_load_s, e.dot_s, e.attention_s, e.other_s};
    const char* names[4] = {"weight loads", "dot products", "attention", "other loops"};
    const int top = static_cast<int>(std::max_element(parts, parts + 4) - parts);
    // In the proposed design weights stream at 64 bytes a cycle, the banks' own rate: that is DDR-bound.
    e.bound = design == KernelDesign::kProposed && top == 0 ? std::string("DDR (weight streaming)")
                                                             : std::string("compute (") + names[top] + ")";
  }
  return e;
}

}  // namespace fpgaserve
