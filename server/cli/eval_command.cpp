// fpgaserve eval perplexity: the model's perplexity over a text file, with the kernel on a simulated
// card and, with --float, with the float reference too (the int8 loss).
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "fpga/sim_card.h"
#include "server/cli/commands.h"
#include "server/model/loaded_model.h"
#include "server/model/perplexity.h"
#include "server/model/tokenizer.h"

namespace fpgaserve::cli {
namespace {

struct EvalOptions {
  std::string model;
  std::string tokenizer;
  std::string text;
  bool with_float = false;
  int window = 0;      // 0 = the model's context
  int max_tokens = 0;  // 0 = the whole text
};

void RunPerplexity(const EvalOptions& o) {
  auto loaded = LoadedModel::FromFile(o.model);
  if (!loaded.ok()) Fail(loaded.status().message());
  const ModelConfig& c = loaded.value()->config();
  auto tokenizer = LoadTokenizerFor(*loaded.value(), o.tokenizer, "");
  if (!tokenizer.ok()) Fail(tokenizer.status().message());
  std::ifstream in(o.text, std::ios::binary);
  if (!in) Fail(o.text + ": cannot read the text file");
  std::stringstream ss;
  ss << in.rdbuf();
  std::vector<int> tokens = tokenizer.value().Encode(ss.str(), tokenizer.value().add_bos(), /*eos=*/false);
  if (o.max_tokens > 0 && static_cast<int>(tokens.size()) > o.max_tokens) tokens.resize(o.max_tokens);
  if (tokens.size() < 2) Fail(o.text + ": the text has no tokens to score");
  const int window = o.window > 0 ? std::min(o.window, c.seq_len) : c.seq_len;

  SimCardOptions options;
  options.n_slots = 1;
  options.cache_len = window;
  auto card = SimCard::Create(loaded.value()->image(), options);
  if (!card.ok()) Fail(card.status().message());
  auto t0 = std::chrono::steady_clock::now();
  auto kernel = KernelPerplexity(*card.value(), tokens, window);
  if (!kernel.ok()) Fail(kernel.status().ToString());
  const double kernel_secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("text %s: %zu tokens, windows of %d\n", o.text.c_str(), tokens.size(), window);
  std::printf("kernel (int8): %lld tokens scored, %.4f nats/token, perplexity %.4f (%.1f s)\n",
              static_cast<long long>(kernel->tokens_scored), kernel->mean_nll, kernel->perplexity, kernel_secs);
  if (o.with_float) {
    FloatReference reference(loaded.value()->view());
    t0 = std::chrono::steady_clock::now();
    const Perplexity f = FloatPerplexity(reference, tokens, window);
    const double float_secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("float reference: %lld tokens scored, %.4f nats/token, perplexity %.4f (%.1f s)\n",
                static_cast<long long>(f.tokens_scored), f.mean_nll, f.perplexity, float_secs);
    std::printf("int8 - float: %+.4f nats/token, perplexity %+.2f%%\n", kernel->mean_nll - f.mean_nll,
                100.0 * (kernel->perplexity / f.perplexity - 1.0));
  }
}

}  // namespace

void AddEvalCommand(CLI::App& app) {
  CLI::App* eval = app.add_subcommand("eval", "Evaluate a model");
  eval->require_subcommand(1);
  auto o = std::make_shared<EvalOptions>();
  CLI::App* ppl = eval->add_subcommand("perplexity", "Perplexity over a text file, with the kernel (and --float)");
  ppl->add_option("--model", o->model, "llama2.c checkpoint")->required();
  ppl->add_option("--tokenizer", o->tokenizer, "llama2.c tokenizer.bin (required unless the model is a GGUF file)");
  ppl->add_option("--text", o->text, "plain text file")->required();
  ppl->add_flag("--float", o->with_float, "also measure the float reference");
  ppl->add_option("--window", o->window, "tokens per window (default: the model's context)");
  ppl->add_option("--max-tokens", o->max_tokens, "score at most this many tokens of the text");
  ppl->callback([o] { RunPerplexity(*o); });
}

}  // namespace fpgaserve::cli
