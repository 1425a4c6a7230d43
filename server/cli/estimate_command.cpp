// fpgaserve estimate: the F1 card's performance model (fpga/perf_model.h) for a model at some batch sizes.
#include <cstdio>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "fpga/perf_model.h"
#include "server/cli/commands.h"
#include "server/model/checkpoint.h"
#include "server/model/random_model.h"

namespace fpgaserve::cli {
namespace {

struct EstimateOptions {
  std::string model;
  std::string shape;
  std::string batches = "1,8,32";
  double mhz = 250;
  int pos = -1;
  std::string design = "both";
};

std::vector<int> ParseBatches(const std::string& s) {
  std::vector<int> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    try {
      size_t used = 0;
      const int b = std::stoi(item, &used);
      if (used != item.size() || b < 1 || b > 4096) throw std::invalid_argument(item);
      out.push_back(b);
    } catch (const std::exception&) {
      Fail("--batch takes a comma-separated list of batch sizes from 1 to 4096, e.g. 1,8,32 (got '" + s + "')");
    }
  }
  if (out.empty()) Fail("--batch is empty");
  return out;
}

void PrintTable(const ModelConfig& c, const std::vector<int>& batches, int pos, KernelDesign design,
                const PerfAssumptions& a) {
  std::printf("\n%s\n", design == KernelDesign::kAsWritten
                            ? "kernel/forward.cpp as written (16-row tiles, four banks side by side, a 64-byte "
                              "beat a cycle serving every entry):"
                            : "with the next proposed changes (one pipeline fill per tile, outputs written while "
                              "the next tile streams, wider attention, unrolled elementwise loops):");
  std::printf("  %5s %10s %9s | %9s %9s %9s %9s %9s | %9s  %s\n", "batch", "step ms", "tok/s", "weights", "dots",
              "attention", "other", "overhead", "DDR floor", "bound");
  for (int b : batches) {
    const StepEstimate e = EstimateStep(c, b, pos, design, a);
    std::printf("  %5d %10.3f %9.1f | %9.3f %9.3f %9.3f %9.3f %9.3f | %9.3f  %s\n", b, e.step_s * 1e3,
                e.tokens_per_s, e.weight_load_s * 1e3, e.dot_s * 1e3, e.attention_s * 1e3, e.other_s * 1e3,
                e.overhead_s * 1e3, e.ddr_s * 1e3, e.bound.c_str());
  }
}

}  // namespace

void AddEstimateCommand(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand(
      "estimate", "Predict tokens/s and step latency of the kernel on an AWS F1 card (a model, not a measurement)");
  auto o = std::make_shared<EstimateOptions>();
  std::string shapes;
  for (const std::string& name : NamedShapeNames()) shapes += (shapes.empty() ? "" : "|") + name;
  auto* model = cmd->add_option("--model", o->model, "llama2.c checkpoint whose shape to use");
  auto* shape = cmd->add_option("--shape", o->shape, "a named shape: " + shapes);
  model->excludes(shape);
  cmd->add_option("--batch", o->batches, "batch sizes (entries per step, each a decode token)")->capture_default_str();
  cmd->add_option("--mhz", o->mhz, "kernel clock in MHz")->check(CLI::Range(50.0, 500.0))->capture_default_str();
  cmd->add_option("--pos", o->pos, "context position of every entry (default: a quarter of the model's seq_len)");
  cmd->add_option("--design", o->design, "as-written, proposed or both")
      ->check(CLI::IsMember({"as-written", "proposed", "both"}))
      ->capture_default_str();
  cmd->callback([o] {
    ModelConfig c;
    std::string name;
    if (!o->model.empty()) {
      Result<std::unique_ptr<Checkpoint>> ckpt = Checkpoint::Open(o->model);
      if (!ckpt.ok()) Fail(ckpt.status().message());
      c = ckpt.value()->config();
      name = o->model;
    } else {
      Result<ModelConfig> named = NamedShape(o->shape.empty() ? "stories110M" : o->shape);
      if (!named.ok()) Fail(named.status().message());
      c = named.value();
      name = o->shape.empty() ? "stories110M" : o->shape;
    }
    const std::vector<int> batches = ParseBatches(o->batches);
    const int pos = o->pos >= 0 ? o->pos : c.seq_len / 4;
    if (pos >= c.seq_len) Fail("--pos must be below the model's seq_len " + std::to_string(c.seq_len));
    PerfAssumptions a;
    a.kernel_mhz = o->mhz;

    std::printf("fpgaserve estimate: a MODEL of kernel/forward.cpp on an AWS F1 card (VU9P), not a measurement.\n");
    std::printf("model: %s (dim %d, hidden %d, %d layers, %d heads, %d kv heads, vocab %d, Q8_0 group %d); every "
                "entry at position %d, each wanting logits\n",
                name.c_str(), c.dim, c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads, c.vocab_size, c.group_size,
                pos);
    std::printf("assumptions: kernel clock %.0f MHz; %d DDR4 banks x %.0f GB/s; PCIe %.0f GB/s; launch + entries "
                "%.0f us per step;\n  float add latency %d cycles; %d cycles of pipeline fill per loop entry; the "
                "kernel's loops run in sequence (no DATAFLOW);\n  step = max(kernel loops, DDR floor) + overhead. "
                "Times in ms. Derivation: fpga/perf_model.h, kernel/README.md.\n",
                a.kernel_mhz, a.banks, a.bank_gbps, a.pcie_gbps, a.launch_us, a.fadd_latency, a.pipeline_depth);
    if (o->design != "proposed") PrintTable(c, batches, pos, KernelDesign::kAsWritten, a);
    if (o->design != "as-written") PrintTable(c, batches, pos, KernelDesign::kProposed, a);
    const PublishedMeasurement ref;
    std::printf("\nfor comparison, measured: %s: %.2f tok/s at %.0f W, %.2f mWh per token.\n", ref.what,
                ref.tokens_per_s, ref.watts, ref.mwh_per_token);
  });
}

}  // namespace fpgaserve::cli
