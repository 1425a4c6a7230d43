#include "fpga/perf_model.h"

#include <algorithm>
#include <cmath>

namespace fpgaserve {
namespace {

// Cycles of one matmul (rows x cols, Q8_0 with group size gs) applied to n entries.
double MatmulCycles(double rows, double cols, double gs, int n, KernelDesign d, const PerfAssumptions& a) {
  const double groups = cols / gs, slices = gs / 4;
  // tiles_of_bank: tiles/4 iterations, the four banks' tiles side by side (one AXI port each). In a tile,
  // each group is one pipelined pass over (beat, entry) at II=1: a 64-byte beat is read when its first
  // entry comes up and serves the n entries on the next n cycles, so a group takes slices*n cycles, and
  // at least slices+1 (its value beats and its scale beat arrive one a cycle). The weights stream inside
  // this pipeline: there is no separate load (the "weights" column stays zero).
  const double tiles_per_bank = std::ceil(std::ceil(rows / 16) / a.banks);
  const double pass = std::max(slices * n, slices + 1);
  if (d == KernelDesign::kAsWritten) {
    // Plus a pipeline fill per group, clearing the n accumulators, and tile_out's 16 writes per entry.
    return tiles_per_bank * (groups * (pass + a.pipeline_depth) + n + 16.0 * n);
  }
  // Proposed: the groups flattened into the same pass (one fill per tile) and tile_out overlapped with the
  // next tile (DATAFLOW).
  return tiles_per_bank * (groups * pass + a.pipeline_depth);
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
  double dot = 0;
  auto add = [&](double rows, double cols, int entries) { dot += MatmulCycles(rows, cols, gs, entries, design, a); };
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

  // Attention of one entry at position pos, per layer: each head scores pos+1 keys (fp16, 32 values a
  // 64-byte beat), softmax (max, exp-sum chain, normalise), and the
  // weighted sum of pos+1 values (II=1).
  const double t = pos + 1.0;
  double att_per_head;
  if (design == KernelDesign::kAsWritten) {
    // scores pipelined over keys, a key per 64-byte beat (head_size/32 beats); softmax; weighted values
    // pipelined over positions but chained on the per-element sums (II = fadd latency).
    att_per_head = t * std::max(1.0, hs / 32) + a.pipeline_depth + t * (2 + a.fadd_latency + 1) +
                   t * a.fadd_latency + a.pipeline_depth;
  } else {
    // Proposed: the weighted-value sums split into partial chains, so that loop also takes one
    // position per 64-byte beat.
    att_per_head = t * std::max(1.0, hs / 32) + a.pipeline_depth + t * (2 + a.fadd_latency + 1) +
                   t * std::max(1.0, hs / 32) + a.pipeline_depth;
  }
  const double attention = n * L * H * att_per_head;

  // The rest, per entry per layer: two rmsnorms (2 passes of dim each), three quantisations of dim and one
  // of hidden (max and round passes), RoPE (dim/2), cache writes (kv_dim), two residuals, SwiGLU (hidden).
  const double per_layer = 2 * 2 * d + 3 * 2 * d + 2 * h + d / 2 + kv + 2 * d + h;
  double other = n * (L * (per_layer + 10 * a.pipeline_depth) + 2 * d + 3 * d);  // + embedding, final norm
  if (design == KernelDesign::kProposed) other /= 4;  // these loops unrolled x4 as well

  e.weight_load_s = 0;  // no separate load: the weights stream inside the dot pipeline
  e.dot_s = dot / hz;
  e.attention_s = attention / hz;
  e.other_s = other / hz;
  e.kernel_s = e.weight_load_s + e.dot_s + e.attention_s + e.other_s;

  // DDR: every weight byte once per step (int8 values and fp32 scales), the caches read up to pos and
  // written at pos, the entries read and the logits written.
  const double params = L * (2 * d * d + 2 * kv * d + 3 * h * d) + V * d;
  const double weight_bytes = params * (1 + 4 / gs);
  const double kv_bytes = n * L * 2 * kv * 2 * (t + 1);  // fp16
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
    // At batch 1 the dots take a beat a cycle per bank: what they wait for is the weights streaming in.
    e.bound = top == 1 && batch == 1 ? std::string("compute (dots, weights streaming a beat a cycle)")
                                     : std::string("compute (") + names[top] + ")";
  }
  return e;
}

}  // namespace fpgaserve
