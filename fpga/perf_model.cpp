#include "fpga/perf_model.h"

#include <algorithm>
#include <cmath>

namespace fpgaserve {
namespace {

using kernel::CardCounters;

int CeilDiv(int64_t a, int64_t b) { return static_cast<int>((a + b - 1) / b); }

// kernel/card/card.h's kScaleSlots for the platform's build.
int ScaleSlots(const Platform& pf) {
  return std::max(pf.pe_entries * (kernel::kTileRows / pf.scale_rows), kernel::kScaleMinCycles);
}

// What the kernel does per matmul, in its own terms (kernel/card/matmul.h), for a build of P ports.
struct Matmul {
  int64_t feed = 0, fill = 0, weights = 0, pe = 0, scale = 0, store = 0;  // trip counts, all ports
  int64_t weights_per_port = 0, pe_per_port = 0, scale_per_port = 0, fill_per_port = 0;
};

Matmul MatmulCounts(int rows, int cols, int gs, int m, const Platform& pf) {
  Matmul c;
  const int P = pf.mem_ports, B = pf.pe_entries;
  const int tpp = CeilDiv(CeilDiv(rows, kernel::kTileRows), P), groups = cols / gs, vw = gs / kernel::kTileBeatValues;
  const int blocks = CeilDiv(m, B);
  const int64_t per_entry = CeilDiv(cols, kernel::kWordBytes) + CeilDiv(groups, kernel::kWordFloats);
  c.feed = m * per_entry;
  c.fill_per_port = c.feed;
  c.fill = P * c.feed;
  c.weights_per_port = static_cast<int64_t>(tpp) * groups * (vw + 1);
  c.weights = P * c.weights_per_port;
  c.pe_per_port = c.weights_per_port * blocks;
  c.pe = P * c.pe_per_port;
  c.scale_per_port = static_cast<int64_t>(tpp) * groups * blocks * ScaleSlots(pf);
  c.scale = P * c.scale_per_port;
  c.store = static_cast<int64_t>(tpp) * P * m;
  return c;
}

void Add(CardCounters& t, const Matmul& m) {
  t.feed_words += m.feed;
  t.fill_words += m.fill;
  t.weight_words += m.weights;
  t.pe_iterations += m.pe;
  t.scale_iterations += m.scale;
  t.store_words += m.store;
}

// The matmuls of one layer, in the kernel's order, with their names; and the classifier.
struct Named {
  const char* name;
  int rows, cols;
};
std::vector<Named> LayerMatmuls(const ModelConfig& c) {
  return {{"matmul wq", c.dim, c.dim},       {"matmul wk", c.kv_dim(), c.dim},   {"matmul wv", c.kv_dim(), c.dim},
          {"matmul wo", c.dim, c.dim},       {"matmul w1", c.hidden_dim, c.dim}, {"matmul w3", c.hidden_dim, c.dim},
          {"matmul w2", c.dim, c.hidden_dim}};
}

}  // namespace

const std::vector<Platform>& Platforms() {
  // Parts' resources from the data sheets (DS962 for the UltraScale+ parts, the Alveo product guides);
  // memory: DDR4-2400 is 19.2 GB/s a channel; the HBM2 cards' 460 GB/s over 32 pseudo-channels. F1's
  // kernel clock defaults to 250 MHz, the Alveo shells' to 300. The builds as kernel/platforms/*.mk make
  // them: on the 4-port DDR cards 16-entry PE arrays, the scale stage at 16 rows a cycle, a chain per
  // port; on the 32-port HBM cards 2-entry PE arrays (32 x 64 x 2 int8 MACs, two a DSP: 2,048 DSPs), the
  // scale stage at 4 rows a cycle (the 8 slots a block needs anyway) and 4 attention chains, which fit
  // the part's 9,024 DSPs.
  static const std::vector<Platform> platforms = [] {
    std::vector<Platform> v;
    Platform f1;
    f1.name = "aws-f1", f1.part = "xcvu9p (F1 VU9P, retired 2025-12-20)", f1.memory = "DDR4", f1.mem_ports = 4;
    f1.port_gbps = 19.2, f1.kernel_mhz = 250, f1.pe_entries = 16, f1.dsp = 6840, f1.bram36 = 2160, f1.uram = 960;
    f1.pcie_gbps = 8;
    v.push_back(f1);
    Platform u200 = f1;
    u200.name = "u200", u200.part = "xcu200 (VU9P-class)", u200.kernel_mhz = 300, u200.pcie_gbps = 12;
    v.push_back(u200);
    Platform u250 = u200;
    u250.name = "u250", u250.part = "xcu250 (VU13P-class)", u250.dsp = 12288, u250.bram36 = 2688, u250.uram = 1280;
    v.push_back(u250);
    Platform u55c;
    u55c.name = "u55c", u55c.part = "xcu55c (VU47P-class)", u55c.memory = "HBM2", u55c.mem_ports = 32;
    u55c.port_gbps = 460.0 / 32, u55c.kernel_mhz = 300, u55c.pe_entries = 2, u55c.dsp = 9024, u55c.bram36 = 2016;
    u55c.scale_rows = 4, u55c.attention_chains = 4;
    u55c.uram = 960, u55c.pcie_gbps = 12;
    v.push_back(u55c);
    Platform u280 = u55c;
    u280.name = "u280", u280.part = "xcu280 (VU37P-class)";
    v.push_back(u280);
    return v;
  }();
  return platforms;
}

const Platform* FindPlatform(const std::string& name) {
  for (const Platform& p : Platforms()) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

CardCounters TripCounts(const ModelConfig& c, const std::vector<ModelEntry>& entries, const Platform& pf) {
  CardCounters t{};
  const int n = static_cast<int>(entries.size()), L = c.n_layers, gs = c.group_size, hs = c.head_size();
  const int dw = c.dim / kernel::kWordFloats, hw16 = c.hidden_dim / kernel::kWordFloats;
  const int kv_words = kernel::KvHeadWords(hs), kv_mul = c.n_heads / c.n_kv_heads;
  int n_out = 0;
  for (const ModelEntry& e : entries) n_out += e.wants_logits ? 1 : 0;

  t.header_words = 1 + CeilDiv(kernel::TensorCount(L), 8);
  t.input_words = kernel::kInputEntryBytes / kernel::kWordBytes +
                  static_cast<int64_t>(n) * (kernel::kMaxHeadSize / kernel::kWordFloats);
  t.embed_words = static_cast<int64_t>(n) * (c.dim / gs) * (gs / kernel::kTileBeatValues + 1);
  t.vector_words = static_cast<int64_t>(L) * 2 * dw + (n_out > 0 ? dw : 0);
  const int norms = 2 * L + (n_out > 0 ? 1 : 0);
  t.norm_rows = static_cast<int64_t>(norms) * n * kernel::kNormPartials;
  t.quant_words = static_cast<int64_t>(L) * n * (3 * dw + hw16) + static_cast<int64_t>(n_out) * dw;
  for (int l = 0; l < L; l++) {
    for (const Named& m : LayerMatmuls(c)) Add(t, MatmulCounts(m.rows, m.cols, gs, n, pf));
  }
  if (n_out > 0) Add(t, MatmulCounts(c.vocab_size, c.dim, gs, n_out, pf));
  t.rope_words = static_cast<int64_t>(L) * n * dw;
  t.kv_write_words = static_cast<int64_t>(L) * n * c.n_kv_heads * 2 * kv_words;
  for (const ModelEntry& e : entries) {
    const int64_t count = e.pos + 1;
    const int64_t chunks = (count + kernel::kKvChunk - 1) / kernel::kKvChunk;  // read whole
    t.kv_read_words += static_cast<int64_t>(L) * c.n_kv_heads * chunks * kernel::KvChunkWords(hs);
    t.score_iterations += static_cast<int64_t>(L) * c.n_kv_heads * count * kv_words * kv_mul;
    t.softmax_iterations += static_cast<int64_t>(L) * c.n_kv_heads * count *
                            std::max(kv_mul, kernel::kLaneMinIterations);
    t.value_iterations += static_cast<int64_t>(L) * c.n_kv_heads * count *
                          std::max(kv_words * kv_mul, kernel::kLaneMinIterations);
  }
  t.head_words = static_cast<int64_t>(L) * n * dw;
  t.residual_words = static_cast<int64_t>(2 * L + 1) * n * dw;  // and the sums after the embedding
  return t;
}

StepEstimate EstimateStep(const ModelConfig& c, int batch, int pos, const Platform& pf) {
  StepEstimate est;
  est.batch = batch;
  est.pos = pos;
  const int n = batch, L = c.n_layers, gs = c.group_size, hs = c.head_size(), P = pf.mem_ports;
  const double hz = pf.kernel_mhz * 1e6;
  // Words a port delivers a cycle in a long burst (at most one: the loaders' II).
  const double port_words = std::min(1.0, pf.port_gbps * 1e9 * pf.efficiency / (kernel::kWordBytes * hz));
  const double depth = 40;       // a pipeline's fill and drain (float cores, trees), cycles per loop entry
  const double burst_lat = 120;  // the first word of a burst from memory, cycles
  // Single-word writes a cycle (write_kv's): the m_axi adapter keeps 16 in flight (step.cpp's
  // num_write_outstanding), each taking about a burst's latency to be answered.
  const double write_words = std::min(1.0, 16.0 / burst_lat);
  auto stage = [&](const std::string& name, double cycles, const std::string& bound) {
    for (StageEstimate& s : est.stages) {
      if (s.name == name) {
        s.cycles += cycles;
        return;
      }
    }
    est.stages.push_back({name, cycles, bound});
  };

  // Elementwise passes (vector_ops.h): a word a cycle; rope's pipeline is entered once per entry, the
  // others once per call. RMSNorm: its weights' burst and each entry's factor from kPartials rows of
  // partial sums (the residual sums the squares as it writes x); quantize: one DATAFLOW region a call, its
  // three processes' fills (the last behind a divide) on top of the words, which are RMSNorm's scaling or
  // SwiGLU as well as the quantisation.
  const double dw = c.dim / 16.0, hw16 = c.hidden_dim / 16.0;
  const int n_out = n, norms = 2 * L + 1;
  // embed: per entry its tile in one burst, then per group two short loops (a word read, then the
  // group's outputs: an int-to-float and a multiply, about 15 cycles of fill between them).
  const double embed_groups = c.dim / gs, group_words = gs / 4.0 + 1;
  stage("embed", n * (burst_lat + embed_groups * group_words + embed_groups * (group_words + gs / 16.0 + 15)),
        "latency");
  stage("rmsnorm", norms * (dw + burst_lat + n * kernel::kNormPartials + depth), "compute");
  auto quantize = [&](double m, double words) { return n + m * words + 3 * depth; };
  stage("quantize", L * (3 * quantize(n, dw) + quantize(n, hw16)) + quantize(n_out, dw), "compute");
  stage("rope", L * n * (dw + depth), "compute");
  stage("residual", (2 * L + 1) * (n * dw + depth), "compute");

  // Matmuls: per port load -> pe -> scale side by side, feed before and store after; the region takes
  // the slowest of them plus the fill of the chain.
  // The activations reach the last port through P - 1 relays, and the store gets port 0's dots through P
  // collectors: 2 cycles (a FIFO) a hop.
  const double relay_hops = 2.0 * (P - 1) + 2.0 * P;
  auto matmul = [&](const std::string& name, int rows, int cols, int m, int times) {
    const Matmul mm = MatmulCounts(rows, cols, gs, m, pf);
    // The PE array takes its copy of the activations before its first weight word, and the loader's
    // 64-word stream fills meanwhile: the fill does not overlap the weights. The relays and collectors
    // pass a word a cycle each (the store's rate), adding their hops' latency.
    const double load = mm.weights_per_port / port_words;
    const double pe = static_cast<double>(mm.pe_per_port);
    const double scale = static_cast<double>(mm.scale_per_port);
    const double store = static_cast<double>(mm.store);
    const double slowest = std::max({load, pe, scale, store});
    const std::string bound = slowest == load ? "memory" : "compute";
    stage(name, times * (mm.fill_per_port + relay_hops + slowest + burst_lat + 4 * depth), bound);
  };
  for (const Named& m : LayerMatmuls(c)) matmul(m.name, m.rows, m.cols, n, L);
  matmul("matmul classifier", c.vocab_size, c.dim, n, 1);

  // Attention: jobs (entry, kv head) spread over the ports by line; port p's loader feeds chain
  // p % attention_chains. A chain is three processes (scores, weights, values) over its ports' jobs, in
  // job order. A job's line is striped over its chain's ports a chunk of kKvChunk positions at a time
  // (card.h: a chunk's keys, then its values); each loader reads its chunks of the job as one
  // address-increasing stream (the last chunk whole). Every stream holds at most a chunk and softmax is
  // online, so a chain's consecutive chunks and jobs overlap. A job goes at the slower of its loaders (the
  // busiest one's share over its port's bandwidth, plus a memory round trip as the job's loop starts) and
  // the chain's busiest process; the chain takes its jobs' sum plus one chunk's way through.
  {
    const int kv_words = kernel::KvHeadWords(hs), kv_mul = c.n_heads / c.n_kv_heads;
    const int A = pf.attention_chains;
    double total = 0;
    bool memory_bound = false;
    for (int l = 0; l < L; l++) {
      std::vector<double> chain(A, 0.0), chain_load(A, 0.0), first(A, -1.0);
      for (int e = 0; e < n; e++) {
        for (int hk = 0; hk < c.n_kv_heads; hk++) {
          const int64_t line = (static_cast<int64_t>(l) * n + e) * c.n_kv_heads + hk;
          const int a = static_cast<int>(line % A);
          const double count = pos + 1.0, words = count * kv_words;
          // The words over the ports: the job's chunks are striped over the chain's P / A ports, each
          // loader's share one stream that the m_axi adapter cuts into 64-word bursts, 8 outstanding
          // hiding the memory's latency between them, but not at the job's first; the loaders side by side.
          const double chunks = std::ceil(count / kernel::kKvChunk), chain_ports = static_cast<double>(P / A);
          const double load = std::ceil(chunks / chain_ports) * kernel::kKvChunk * 2.0 * kv_words / port_words +
                              burst_lat;
          const double scores = kv_mul * 2.0 * kv_words + words * kv_mul + depth;  // queries in, a word a cycle
          // weights: its KernelExp chain (about 90 cycles) and OnlineMerge (about 80) drain once a job.
          const double weights = count * std::max(kv_mul, kernel::kLaneMinIterations) + 8.0 * kv_mul + 170;
          const double values = kv_mul * static_cast<double>(kv_words) +
                                count * std::max(kv_words * kv_mul, kernel::kLaneMinIterations) + kv_mul * hs / 4.0 +
                                2 * depth;  // clear, the lanes, the output
          chain[a] += std::max({load, scores, weights, values});
          chain_load[a] += load;
          if (first[a] < 0) {
            const double chunk_words = static_cast<double>(kernel::kKvChunk) * kv_words;
            first[a] = 2 * chunk_words / port_words + chunk_words * kv_mul + 3 * depth;
          }
        }
      }
      double worst = 0;
      for (int a = 0; a < A; a++) {
        const double cycles = chain[a] + std::max(0.0, first[a]) + burst_lat;
        if (cycles > worst) {
          worst = cycles;
          memory_bound = chain_load[a] >= 0.9 * chain[a];
        }
      }
      total += worst + n * c.n_kv_heads * (1 + kv_mul * 2.0 * kv_words) + depth;  // + jobs, merge alongside
      // write_kv (one DATAFLOW region): the words a cycle down the chain of picks (2 cycles a hop), each
      // port's store side by side, single-word writes at num_write_outstanding per write latency.
      std::vector<double> port_writes(P, 0.0);
      for (int e = 0; e < n; e++) {
        for (int hk = 0; hk < c.n_kv_heads; hk++) {
          // The port holding the entry's position of the line (card.h: KvPositionPort).
          const int64_t line = (static_cast<int64_t>(l) * n + e) * c.n_kv_heads + hk;
          const int64_t member = (pos / kernel::kKvChunk + line / A) % (P / A);
          port_writes[static_cast<size_t>(line % A + A * member)] += 2.0 * kv_words;
        }
      }
      const double stream = n * c.n_kv_heads * 2.0 * kv_words + 1;
      const double store = *std::max_element(port_writes.begin(), port_writes.end()) / write_words;
      total += std::max(stream, store) + 2.0 * P + burst_lat + depth;
    }
    stage("attention", total, memory_bound ? "memory" : "compute");
  }

  double cycles = 0;
  size_t top = 0;
  for (size_t i = 0; i < est.stages.size(); i++) {
    cycles += est.stages[i].cycles;
    if (est.stages[i].cycles > est.stages[top].cycles) top = i;
  }
  est.kernel_s = cycles / hz;
  const double logits_bytes = static_cast<double>(n) * c.vocab_size * 4;
  est.overhead_s = pf.launch_us * 1e-6 + (kernel::kInputBytes + logits_bytes) / (pf.pcie_gbps * 1e9);
  est.step_s = est.kernel_s + est.overhead_s;
  est.tokens_per_s = n / est.step_s;
  const double params = L * (2.0 * c.dim * c.dim + 2.0 * c.kv_dim() * c.dim + 3.0 * c.hidden_dim * c.dim) +
                        static_cast<double>(c.vocab_size) * c.dim;
  est.weight_bytes = params * (1 + 4.0 / gs);
  est.kv_bytes = static_cast<double>(n) * L * c.n_kv_heads * 2 * (pos + 1.0) * kernel::KvHeadWords(hs) * 64;
  est.roofline_tokens_per_s = n / ((est.weight_bytes + est.kv_bytes) / (P * pf.port_gbps * 1e9));
  est.bound = est.stages[top].name + " (" + est.stages[top].bound + ")";

  // Resources. DSP48E2: two int8 multiply-adds a DSP where two weights share an activation (the PE's 16
  // rows do); a float multiply 3 DSPs, a float add 2, KernelExp 11 of each (55: kernel_math.h). BRAM36/URAM: the
  // on-chip arrays at the build's maxima (kernel.h), a 512-bit word 8 URAMs wide (4096 deep) or 14.2
  // BRAM36 wide (512 deep).
  Resources& r = est.resources;
  const double B = pf.pe_entries, A = pf.attention_chains, R = pf.scale_rows;
  const double exp_dsp = 11 * 3 + 11 * 2;
  const double chain_dsp = (32 * 3 + 31 * 2)            // scores: 32 products and the adder tree
                           + (3 + 3 * 2)                // ... the 1/sqrt(head) scale and the word sums' adds
                           + (2 * exp_dsp + 3 + 3 + 2)  // weights: two KernelExp, l c + p
                           + (exp_dsp + 3 + 7 * 2)      // ... OnlineMerge at II 8: one set of units
                           + 32 * (3 + 3 + 2)           // values: 32 lanes of acc c + p v
                           + 4 * (9 * 3 + 7 * 2);       // ... OnlineOut at II 4: 4 values' units
  r.dsp = P * (16.0 * 4 * B / 2)                        // PE arrays
          + P * R * (3 + 3 + 2)                         // scale: two multiplies and an add per row
          + A * chain_dsp                               // attention chains
          + 16 * (2 + 3 + 2)                            // residual: the add, the square, its partial's add
          + (16 * 7 + 15) * 2 + (3 + 3) * 3             // norm factors: the trees, RmsFactor's divide and root
          + 16 * (2 * 3 + exp_dsp + 2 + 3)              // quantize's source: RMSNorm's scaling, SwiGLU
          + 16 * 3                                      // quantize's rounding
          + 16 * (2 * 3 + 2) / 2 * 2                    // rope: 8 pairs, 4 multiplies and 2 adds
          + 16 * 3;                                     // embed
  const double step = pf.max_step;
  const double word_bram = 512.0 / 72 / 512;  // BRAM36 per 512-bit word of depth (512 deep at 72 bits)
  const double hid_words = step * c.hidden_dim / 16.0;
  // Every activation array is as wide as the FFN's (vector_ops.h: kActWords), whatever it holds.
  r.uram = 5 * std::ceil(hid_words / 4096.0) * 8                         // x, xb, q, hb, hb2
           + P * 16 * std::ceil(step * c.hidden_dim / 4.0 / 16 / 4096);  // each PE's int8 copy: 16 banks, 4K x 72
  // A 512-bit FIFO or buffer in BRAM is 8 BRAM36 across (72 bits each, up to 512 deep); FIFOs of 16 or
  // fewer words are shift registers (no BRAM).
  const double fifo = 8;
  r.bram36 = (2 * hid_words) * word_bram                           // k, v (kActWords wide too)
             + std::ceil(step * c.hidden_dim / 64.0 / 512) * fifo  // xq
             + 3 * fifo                                            // xs, the RoPE table, a norm weight
             + 2 * 16.0 * 64 * 512 / 36864  // in's read and logits' write buffers (16 outstanding by default)
             + P * (fifo + fifo)            // matmul: weights, dots streams
             + P * fifo                     // attention: each loader's values (a chunk)
             + A * (fifo + fifo + 1)        // each chain's queries, outputs, weights (64 bits)
             + P * 8.0 * 64 * 512 / 36864   // m_axi read buffers: 8 bursts of 64 words
             // (the m_axi write buffers, 16 writes of at most 2 words, are LUTRAM: not counted)
             + P * 2  // each loader's job FIFO (384 jobs of 128 bits)
             + fifo;  // the embedding's tile (a 512-bit memory, at most 512 deep)
  r.part_dsp = pf.dsp;
  r.part_bram36 = pf.bram36;
  r.part_uram = pf.uram;
  return est;
}

}  // namespace fpgaserve
