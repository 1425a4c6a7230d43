// fpgaserve estimate: the card kernel's performance model (fpga/perf_model.h) for a model at some batch sizes.
#include <cstdio>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

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
  std::string platforms = "u250,u55c";
  int pos = -1;
  bool json = false;
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

void PrintPlatform(const ModelConfig& c, const std::vector<int>& batches, int pos, const Platform& pf, bool json,
                   nlohmann::json* out) {
  nlohmann::json rows = nlohmann::json::array();
  if (!json) {
    std::printf(
        "\n%s: %s, %d x %s ports at %.1f GB/s (x%.0f%% in a burst), %.0f MHz, PE arrays of %d entries, "
        "scale stages of %d rows a cycle, %d attention chains\n",
        pf.name.c_str(), pf.part.c_str(), pf.mem_ports, pf.memory.c_str(), pf.port_gbps, pf.efficiency * 100,
        pf.kernel_mhz, pf.pe_entries, pf.scale_rows, pf.attention_chains);
  }
  for (int b : batches) {
    const StepEstimate e = EstimateStep(c, b, pos, pf);
    nlohmann::json row = {{"batch", b},
                          {"pos", pos},
                          {"step_ms", e.step_s * 1e3},
                          {"tokens_per_s", e.tokens_per_s},
                          {"roofline_tokens_per_s", e.roofline_tokens_per_s},
                          {"bound", e.bound},
                          {"dsp", e.resources.dsp},
                          {"bram36", e.resources.bram36},
                          {"uram", e.resources.uram},
                          {"pe_entries", pf.pe_entries},
                          {"scale_rows", pf.scale_rows},
                          {"attention_chains", pf.attention_chains}};
    nlohmann::json stages = nlohmann::json::array();
    for (const StageEstimate& s : e.stages) {
      stages.push_back({{"stage", s.name}, {"ms", s.cycles / (pf.kernel_mhz * 1e3)}, {"bound", s.bound}});
    }
    row["stages"] = stages;
    rows.push_back(row);
    if (json) continue;
    std::printf(
        "  batch %d: %.1f tok/s (%.3f ms a step; memory roofline %.1f tok/s at peak: %.0f%% of it, %.0f%% of "
        "it at the burst efficiency); bound: %s\n",
        b, e.tokens_per_s, e.step_s * 1e3, e.roofline_tokens_per_s, 100 * e.tokens_per_s / e.roofline_tokens_per_s,
        100 * e.tokens_per_s / (e.roofline_tokens_per_s * pf.efficiency), e.bound.c_str());
    if (e.resources.dsp > e.resources.part_dsp || e.resources.bram36 > e.resources.part_bram36 ||
        e.resources.uram > e.resources.part_uram) {
      std::printf("    DOES NOT FIT the %s as built: see the resources below\n", pf.name.c_str());
    }
    for (const StageEstimate& s : e.stages) {
      std::printf("    %-18s %9.3f ms  %s\n", s.name.c_str(), s.cycles / (pf.kernel_mhz * 1e3), s.bound.c_str());
    }
    std::printf("    %-18s %9.3f ms  (launch, input and logits over PCIe)\n", "overhead", e.overhead_s * 1e3);
    std::printf("    resources: %.0f DSP of %d, %.0f BRAM36 of %d, %.0f URAM of %d\n", e.resources.dsp,
                e.resources.part_dsp, e.resources.bram36, e.resources.part_bram36, e.resources.uram,
                e.resources.part_uram);
  }
  if (out != nullptr) (*out)[pf.name] = rows;
}

}  // namespace

void AddEstimateCommand(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("estimate",
                                     "Predict tokens/s, step latency and resources of the card kernel on Alveo and F1 "
                                     "cards (a model, not a measurement)");
  auto o = std::make_shared<EstimateOptions>();
  std::string shapes;
  for (const std::string& name : NamedShapeNames()) shapes += (shapes.empty() ? "" : "|") + name;
  auto* model = cmd->add_option("--model", o->model, "llama2.c checkpoint whose shape to use");
  auto* shape = cmd->add_option("--shape", o->shape, "a named shape: " + shapes);
  model->excludes(shape);
  cmd->add_option("--batch", o->batches, "batch sizes (entries per step, each a decode token)")->capture_default_str();
  std::string names;
  for (const Platform& p : Platforms()) names += (names.empty() ? "" : ",") + p.name;
  cmd->add_option("--platform", o->platforms, "cards, comma-separated: " + names)->capture_default_str();
  cmd->add_option("--pos", o->pos, "context position of every entry (default: a quarter of the model's seq_len)");
  cmd->add_flag("--json", o->json, "print the figures as one JSON object");
  cmd->callback([o, names] {
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
    std::vector<const Platform*> platforms;
    std::stringstream list(o->platforms);
    for (std::string item; std::getline(list, item, ',');) {
      const Platform* pf = FindPlatform(item);
      if (pf == nullptr) Fail("--platform: unknown card '" + item + "'; known: " + names);
      platforms.push_back(pf);
    }
    nlohmann::json out = {{"model", name}, {"pos", pos}};
    if (!o->json) {
      std::printf("fpgaserve estimate: a MODEL of the card kernel (kernel/card/), not a measurement.\n");
      std::printf(
          "model: %s (dim %d, hidden %d, %d layers, %d heads, %d kv heads, vocab %d, Q8_0 group %d); every "
          "entry at position %d, each wanting logits\n",
          name.c_str(), c.dim, c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads, c.vocab_size, c.group_size, pos);
      std::printf(
          "stages run in sequence; per-port chains side by side within a matmul or attention; each stage's "
          "time is its loop trip counts at II=1 or its words over the ports, whichever is larger "
          "(fpga/perf_model.h, kernel/README.md)\n");
    }
    for (const Platform* pf : platforms) PrintPlatform(c, batches, pos, *pf, o->json, &out);
    if (o->json) {
      std::printf("%s\n", out.dump(2).c_str());
      return;
    }
    const PublishedMeasurement ref;
    std::printf("\nfor comparison, measured: %s: %.2f tok/s at %.0f W, %.2f mWh per token.\n", ref.what,
                ref.tokens_per_s, ref.watts, ref.mwh_per_token);
  });
}

}  // namespace fpgaserve::cli
