// fpgaserve bench llamacpp: decode tok/s of llama.cpp (node-llama-cpp's CPU build) and of the simulated
// card on the same GGUF file, at each stream count, side by side with their ratio. A benchmark, not a test:
// it prints figures and never fails on them.
//
// A subcommand rather than a script because our side needs the library anyway: it writes the random Q8_0
// GGUF of a named shape itself (GgufBuilder; `model random` writes llama2.c files), and times the card with
// the very loop `bench kernel` uses (decode_timing.h). llama.cpp runs as a child process,
// tests/llamacpp/bench.mjs (installed by tests/llamacpp/install.sh).
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fpga/sim_card.h"
#include "server/cli/commands.h"
#include "server/cli/decode_timing.h"
#include "server/model/gguf_writer.h"
#include "server/model/loaded_model.h"
#include "server/model/made_up_vocabulary.h"
#include "server/model/random_model.h"

namespace fpgaserve::cli {
namespace {

struct LlamaCppBenchOptions {
  std::string model;                  // a GGUF file, or
  std::string shape = "stories110M";  // random Q8_0 weights of a named shape, written to a temp file
  std::vector<int> streams = {1, 32};
  int steps = 64;
  int threads = 2;
  std::string node_dir = "tests/llamacpp";
};

// A random Q8_0 GGUF of `shape` in a new temp file; returns its path.
std::string WriteRandomGguf(const std::string& shape) {
  auto config = NamedShape(shape);
  if (!config.ok()) Fail(config.status().message());
  std::string path = "/tmp/fpgaserve-bench-XXXXXX.gguf";
  const int fd = mkstemps(path.data(), 5);
  if (fd < 0) Fail("cannot create a temp file for the GGUF");
  close(fd);
  std::string bytes;
  {
    const RandomModel model = MakeRandomModel(config.value(), /*seed=*/1);
    GgufModelOptions options;
    options.matrix_type = GgmlType::kQ8_0;
    GgufBuilder b = ModelToGguf(model.view, options);
    b.Erase("test.nested");  // a test key of the writer's; llama.cpp takes no arrays of arrays
    WriteMadeUpSentencePieceVocabulary(b, config.value().vocab_size);
    bytes = b.Build();
  }
  FILE* f = std::fopen(path.c_str(), "wb");
  const bool written = f != nullptr && std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  if (f != nullptr && std::fclose(f) != 0) Fail(path + ": cannot write");
  if (!written) Fail(path + ": cannot write");
  return path;
}

// Our decode tok/s per stream count, on one simulated card holding every stream.
std::vector<double> CardTokensPerSecond(const std::string& gguf, const LlamaCppBenchOptions& o) {
  auto loaded = LoadedModel::FromFile(gguf);
  if (!loaded.ok()) Fail(loaded.status().message());
  const ModelConfig& c = loaded.value()->config();
  std::printf("model %s: dim %d, hidden %d, layers %d, heads %d/%d, vocab %d, Q8_0 group %d\n", gguf.c_str(), c.dim,
              c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads, c.vocab_size, c.group_size);
  SimCardOptions options;
  options.n_slots = *std::max_element(o.streams.begin(), o.streams.end());
  options.cache_len = std::min(c.seq_len, o.steps + 1);
  options.threads = o.threads;
  auto card = SimCard::Create(loaded.value()->image(), options);
  if (!card.ok()) Fail(card.status().message());
  std::vector<double> tps;
  for (int s : o.streams) {
    if (s > card.value()->info().max_step) Fail(std::to_string(s) + " streams exceed the kernel's step size");
    const Result<double> r = DecodeTokensPerSecond(*card.value(), s, o.steps);
    if (!r.ok()) Fail(r.status().ToString());
    tps.push_back(r.value());
  }
  return tps;
}

// llama.cpp's decode tok/s per stream count, from tests/llamacpp/bench.mjs.
std::vector<double> LlamaCppTokensPerSecond(const std::string& gguf, const LlamaCppBenchOptions& o) {
  std::string streams;
  for (int s : o.streams) streams += (streams.empty() ? std::string() : std::string(",")) + std::to_string(s);
  const std::string cmd = "node '" + o.node_dir + "/bench.mjs' --model '" + gguf + "' --streams " + streams +
                          " --steps " + std::to_string(o.steps) + " --threads " + std::to_string(o.threads);
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) Fail("cannot run: " + cmd);
  std::string out;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) out.append(buf, n);
  if (pclose(pipe) != 0)
    Fail("llama.cpp's benchmark failed: " + cmd + " (tests/llamacpp/install.sh installs node-llama-cpp)");
  std::vector<double> tps;
  try {
    const nlohmann::json j = nlohmann::json::parse(out);
    for (const auto& r : j.at("results")) tps.push_back(r.at("tokens_per_second").get<double>());
  } catch (const nlohmann::json::exception& e) {
    Fail(std::string("llama.cpp's benchmark printed no result: ") + e.what());
  }
  if (tps.size() != o.streams.size()) Fail("llama.cpp's benchmark gave " + std::to_string(tps.size()) + " results");
  return tps;
}

void RunLlamaCppBench(const LlamaCppBenchOptions& o) {
  const bool temp = o.model.empty();
  const std::string gguf = temp ? WriteRandomGguf(o.shape) : o.model;
  const std::vector<double> ours = CardTokensPerSecond(gguf, o);
  const std::vector<double> theirs = LlamaCppTokensPerSecond(gguf, o);
  if (temp) std::remove(gguf.c_str());
  std::printf("%d threads each, %d decode steps from position 0 per stream count (after an untimed pass)\n\n",
              o.threads, o.steps);
  std::printf("%8s %18s %18s %12s\n", "streams", "llama.cpp tok/s", "fpgaserve tok/s", "fpgaserve/llama.cpp");
  for (size_t i = 0; i < o.streams.size(); i++) {
    std::printf("%8d %18.1f %18.1f %11.2fx\n", o.streams[i], theirs[i], ours[i], ours[i] / theirs[i]);
  }
}

}  // namespace

void AddBenchLlamaCppCommand(CLI::App& bench) {
  auto o = std::make_shared<LlamaCppBenchOptions>();
  CLI::App* cmd = bench.add_subcommand("llamacpp",
                                       "Decode tok/s of llama.cpp (CPU) and of the simulated card on one GGUF");
  cmd->add_option("--model", o->model, "GGUF file (default: random Q8_0 weights of --shape)");
  cmd->add_option("--shape", o->shape, "random weights of a named shape: stories15M, stories42M, stories110M, tiny")
      ->capture_default_str();
  cmd->add_option("--streams", o->streams, "parallel streams")->delimiter(',')->capture_default_str();
  cmd->add_option("--steps", o->steps, "decode steps per stream count")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  cmd->add_option("--threads", o->threads, "threads for each side")->check(CLI::Range(1, 256))->capture_default_str();
  cmd->add_option("--node-dir", o->node_dir, "the folder of bench.mjs, with node-llama-cpp installed")
      ->capture_default_str();
  cmd->callback([o] { RunLlamaCppBench(*o); });
}

}  // namespace fpgaserve::cli
