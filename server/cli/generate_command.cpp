// fpgaserve generate: text from a prompt on one simulated card, in-process (no server). Streams the
// text to stdout; prompt and generation speed go to stderr at the end.
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "fpga/sim_card.h"
#include "server/cli/commands.h"
#include "server/engine/sampler.h"
#include "server/model/bundled_model.h"
#include "server/model/detokenizer.h"
#include "server/model/loaded_model.h"
#include "server/model/tokenizer.h"

namespace fpgaserve::cli {
namespace {

struct GenerateOptions {
  std::string model;
  std::string tokenizer;
  std::string prompt;
  int max_tokens = 256;
  SamplingParams sampling;
  uint64_t seed = 0;
  bool seed_set = false;
  int threads = 0;
};

double Since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

void RunGenerate(GenerateOptions o) {
  auto loaded = LoadedModel::FromFile(o.model);
  if (!loaded.ok()) Fail(loaded.status().message());
  const ModelConfig& c = loaded.value()->config();
  auto tokenizer = LoadTokenizerFor(*loaded.value(), o.tokenizer, BundledTokenizerPath());
  if (!tokenizer.ok()) Fail(tokenizer.status().message());
  const Tokenizer& tok = tokenizer.value();

  o.sampling.seed = o.seed_set ? o.seed : std::random_device{}();
  std::string param;
  if (Status st = ValidateSamplingParams(o.sampling, c.vocab_size, &param); !st.ok()) Fail(st.message());

  const std::vector<int> prompt = tok.EncodeWithSpecials(o.prompt, tok.add_bos(), /*eos=*/false);
  if (prompt.empty()) Fail("the prompt is empty (and this vocabulary adds no BOS): give a prompt");
  if (static_cast<int>(prompt.size()) >= c.seq_len) {
    Fail("the prompt is " + std::to_string(prompt.size()) + " tokens; the model's context is " +
         std::to_string(c.seq_len));
  }
  SimCardOptions options;
  options.n_slots = 1;
  options.threads = o.threads;
  auto card = SimCard::Create(loaded.value()->image(), options);
  if (!card.ok()) Fail(card.status().message());
  Device& dev = *card.value();

  std::vector<float> logits(c.vocab_size);
  // Prefill in chunks of the kernel's step size; only the last prompt token's logits are needed.
  const auto t0 = std::chrono::steady_clock::now();
  int pos = 0;
  while (pos < static_cast<int>(prompt.size())) {
    Step step;
    for (; pos < static_cast<int>(prompt.size()) && static_cast<int>(step.entries.size()) < dev.info().max_step;
         pos++) {
      step.entries.push_back({prompt[pos], pos, 0, -1});
    }
    if (pos == static_cast<int>(prompt.size())) {
      step.entries.back().out_row = 0;
      step.n_out_rows = 1;
    }
    if (Status st = dev.Run(step, logits.data()); !st.ok()) Fail(st.ToString());
  }
  const double prefill_secs = Since(t0);

  const std::vector<int32_t> history(prompt.begin(), prompt.end());
  Sampler sampler(o.sampling, c.vocab_size, history);
  Rng rng(*o.sampling.seed);
  StreamDecoder decoder(tok, prompt.back());
  std::fputs(o.prompt.c_str(), stdout);
  const auto t1 = std::chrono::steady_clock::now();
  int generated = 0;
  while (generated < o.max_tokens && pos < c.seq_len) {
    const int next = sampler.Sample(logits.data(), rng).token;
    generated++;
    if (tok.IsEndOfGeneration(next) || next == tok.bos_id()) break;
    const std::string text = decoder.Push(next);
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
    if (generated == o.max_tokens || pos + 1 >= c.seq_len) break;
    Step step;
    step.entries.push_back({next, pos++, 0, 0});
    step.n_out_rows = 1;
    if (Status st = dev.Run(step, logits.data()); !st.ok()) Fail(st.ToString());
  }
  const std::string tail = decoder.Flush();
  std::fwrite(tail.data(), 1, tail.size(), stdout);
  std::fputs("\n", stdout);
  std::fflush(stdout);
  const double gen_secs = Since(t1);
  std::fprintf(stderr, "prompt: %zu tokens, %.1f tok/s; generation: %d tokens, %.1f tok/s\n", prompt.size(),
               prompt.size() / prefill_secs, generated, generated / gen_secs);
}

}  // namespace

void AddGenerateCommand(CLI::App& app) {
  auto o = std::make_shared<GenerateOptions>();
  CLI::App* cmd = app.add_subcommand("generate", "Generate text from a prompt on a simulated card, in-process");
  o->model = BundledModelPath();
  cmd->add_option("--model", o->model, "llama2.c checkpoint or GGUF file (default: the bundled demo model)");
  cmd->add_option("--tokenizer", o->tokenizer,
                  "llama2.c tokenizer.bin (default: a GGUF model's own, else the bundled demo tokenizer)");
  cmd->add_option("--prompt,-p", o->prompt, "prompt text");
  cmd->add_option("-n,--max-tokens", o->max_tokens, "tokens to generate")->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--temperature,-t", o->sampling.temperature, "0 = greedy")->check(CLI::Range(0.0, 2.0));
  cmd->add_option("--top-p", o->sampling.top_p, "nucleus sampling")->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--top-k", o->sampling.top_k, "0 = off");
  cmd->add_option("--min-p", o->sampling.min_p, "0 = off")->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--seed,-s", o->seed, "random seed (default: random)")->each([o](const std::string&) {
    o->seed_set = true;
  });
  cmd->add_option("--threads", o->threads, "kernel threads (default: one per core)");
  cmd->callback([o] { RunGenerate(*o); });
}

}  // namespace fpgaserve::cli
