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
  if (d == KernelDesign::kAsWritten) {
    // rows_of_bank (rows/4 iterations, not pipelined) x banks (unrolled, but serialised by the shared
    // `row` buffer): every row is loaded and dotted in turn.
    //   load_values: cols iterations at II=1, one int8 each;  load_scales: groups iterations.
    //   dot_groups:  groups iterations at II = gs/2 (2 BRAM ports for gs int16 reads); one pass per entry.
    const double dot_ii = std::max<double>(gs / 2, a.fadd_latency);
    c.load = rows * (cols + groups + 2 * a.pipeline_depth);
    c.dot = rows * n * (groups * dot_ii + a.pipeline_depth);
  } else {
    // Four banks in parallel; 64 bytes a cycle per bank; dot_groups at II=1; load overlapped with dots.
    const double rows_per_bank = std::ceil(rows / a.banks);
    c.load = rows_per_bank * (cols / 64 + groups / 16 + a.pipeline_depth);
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
    att_per_head = t * (hs * a.fadd_latency + a.pipeline_depth) + t * (2 + a.fadd_latency + 1) +
                   t * (hs + a.pipeline_depth);
  } else {
    // Proposed: keys and values read 64 bytes (16 floats) a cycle, sums split over 16 partial chains.
    att_per_head = t * (hs / 16 + a.fadd_latency) + t * (2 + a.fadd_latency + 1) + t * (hs / 16 + 2);
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
