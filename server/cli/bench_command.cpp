// fpgaserve bench kernel: decode and prefill throughput of the simulated card, per batch size.
// A benchmark, not a test: it prints figures and never fails on them.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "fpga/powercap_sensor.h"
#include "fpga/sim_card.h"
#include "server/bench/energy_report.h"
#include "server/cli/commands.h"
#include "server/cli/decode_timing.h"
#include "server/model/loaded_model.h"

namespace fpgaserve::cli {
namespace {

struct KernelBenchOptions {
  std::string model;  // a checkpoint file, or
  std::string shape;  // a random model of a named shape
  std::vector<int> batches = {1, 4, 16, 32, 64};
  int steps = 64;            // decode steps per batch size
  int prefill_tokens = 256;  // prompt length for the prefill figure
  int threads = 0;
  std::string powercap = "/sys/class/powercap";  // the host's RAPL energy, for J per token
};

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

void RunKernelBench(const KernelBenchOptions& o) {
  if (o.model.empty() == o.shape.empty()) Fail("bench kernel needs exactly one of --model FILE and --shape NAME");
  auto loaded = o.model.empty() ? LoadedModel::Random(o.shape, 1) : LoadedModel::FromFile(o.model);
  if (!loaded.ok()) Fail(loaded.status().message());
  const LoadedModel& model = *loaded.value();
  const ModelConfig& c = model.config();
  const int max_batch = *std::max_element(o.batches.begin(), o.batches.end());
  const int threads = o.threads > 0 ? o.threads : static_cast<int>(std::thread::hardware_concurrency());
  const int cache_len = std::min(c.seq_len, std::max(o.steps + 1, o.prefill_tokens));

  SimCardOptions options;
  options.n_slots = max_batch;
  options.cache_len = cache_len;
  options.threads = threads;
  auto card = SimCard::Create(model.image(), options);
  if (!card.ok()) Fail(card.status().message());
  Device& dev = *card.value();
  if (max_batch > dev.info().max_step)
    Fail("batch " + std::to_string(max_batch) + " exceeds the kernel's step size " +
         std::to_string(dev.info().max_step));

  std::printf("model %s: dim %d, hidden %d, layers %d, heads %d/%d, vocab %d, group %d\n", model.name().c_str(), c.dim,
              c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads, c.vocab_size, c.group_size);
  std::printf("simulated card, %d threads, %d decode steps from position 0 per batch size (after an untimed pass)\n\n",
              threads, o.steps);
  // The host's energy (the simulated card is the host's CPU): RAPL when readable, else "n/a".
  std::unique_ptr<PowercapSensor> rapl;
  if (!o.powercap.empty()) {
    Result<std::unique_ptr<PowercapSensor>> opened = PowercapSensor::Open(o.powercap);
    if (opened.ok()) rapl = std::move(opened.value());
  }
  auto energy_now = [&]() -> std::optional<double> { return rapl ? rapl->Read().energy_joules : std::nullopt; };
  if (!rapl || !energy_now()) {
    std::printf("host energy: n/a (%s)\n\n",
                rapl ? rapl->Read().note.c_str() : ("no RAPL counters under " + o.powercap).c_str());
  }
  std::printf("%8s %12s %14s %10s  %s\n", "batch", "step ms", "decode tok/s", "vs batch 1", "host energy per token");

  double base = 0.0;
  for (int batch : o.batches) {
    // The energy is read around both passes (the untimed one does the same work), so it covers
    // 2 x batch x steps tokens.
    const std::optional<double> before = energy_now();
    const Result<double> tps = DecodeTokensPerSecond(dev, batch, o.steps);
    if (!tps.ok()) Fail(tps.status().ToString());
    const std::optional<double> after = energy_now();
    EnergyUse energy{std::nullopt, "host"};
    if (before && after) energy.joules = *after - *before;
    if (base == 0.0) base = tps.value() / batch;
    std::printf("%8d %12.2f %14.1f %9.1fx  %s\n", batch, batch * 1e3 / tps.value(), tps.value(), tps.value() / base,
                FormatEnergyPerToken(energy, 2LL * batch * o.steps).c_str());
  }

  // Prefill: one prompt in chunks of the kernel's step size, logits only for the last token.
  std::vector<float> logits(c.vocab_size);
  const int prompt = std::min(o.prefill_tokens, cache_len);
  const auto start = std::chrono::steady_clock::now();
  for (int pos = 0; pos < prompt;) {
    Step step;
    const int chunk = std::min(dev.info().max_step, prompt - pos);
    for (int i = 0; i < chunk; i++, pos++) step.entries.push_back({(pos * 7) % c.vocab_size, pos, 0, -1});
    if (pos == prompt) {
      step.entries.back().out_row = 0;
      step.n_out_rows = 1;
    }
    if (Status st = dev.Run(step, logits.data()); !st.ok()) Fail(st.ToString());
  }
  std::printf("\nprefill: %d tokens in chunks of %d: %.1f tok/s\n", prompt, dev.info().max_step,
              prompt / Seconds(start));
}

}  // namespace

void AddBenchCommand(CLI::App& app) {
  CLI::App* bench = app.add_subcommand("bench", "Benchmarks (they print figures; they are not tests)");
  bench->require_subcommand(1);
  auto o = std::make_shared<KernelBenchOptions>();
  CLI::App* kernel = bench->add_subcommand("kernel",
                                           "Decode tok/s per batch size and prefill tok/s of the simulated card");
  kernel->add_option("--model", o->model, "llama2.c checkpoint");
  kernel->add_option("--shape", o->shape, "random weights of a named shape: stories15M, stories42M, stories110M, tiny");
  kernel->add_option("--batch", o->batches, "batch sizes")->delimiter(',');
  kernel->add_option("--steps", o->steps, "decode steps per batch size")->check(CLI::Range(1, 100000));
  kernel->add_option("--prefill-tokens", o->prefill_tokens, "prompt length for the prefill figure")
      ->check(CLI::Range(1, 1 << 20));
  kernel->add_option("--threads", o->threads, "kernel threads (default: one per core)");
  kernel->add_option("--powercap", o->powercap, "powercap folder for the host's RAPL energy per token (\"\": none)")
      ->capture_default_str();
  kernel->callback([o] { RunKernelBench(*o); });
  AddBenchServeCommand(*bench);
  AddBenchLlamaCppCommand(*bench);
}

}  // namespace fpgaserve::cli
