// fpgaserve model logits: our log-probabilities for given token ids, and the greedy continuation, as
// JSON in the shape tests/llamacpp/logits.mjs prints llama.cpp's, so the two can be compared by hand on
// any model file (tests/llamacpp/llamacpp_reference_test.cpp does it on random ones).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fpga/sim_card.h"
#include "server/cli/commands.h"
#include "server/model/float_reference.h"
#include "server/model/loaded_model.h"

namespace fpgaserve::cli {
namespace {

struct LogitsOptions {
  std::string model;
  std::vector<int> tokens;
  std::string reference = "kernel";  // or "float"
  int steps = 0;
  int threads = 2;
};

// log softmax, in double, rounded to float for printing (logits.mjs prints llama.cpp's float32 values).
nlohmann::json LogSoftmaxRow(const float* logits, int vocab) {
  const double max_logit = *std::max_element(logits, logits + vocab);
  double sum = 0.0;
  for (int i = 0; i < vocab; i++) sum += std::exp(logits[i] - max_logit);
  nlohmann::json row = nlohmann::json::array();
  for (int i = 0; i < vocab; i++) row.push_back(static_cast<float>(logits[i] - max_logit - std::log(sum)));
  return row;
}

void RunLogits(const LogitsOptions& o) {
  auto loaded = LoadedModel::FromFile(o.model);
  if (!loaded.ok()) Fail(loaded.status().message());
  const ModelConfig& c = loaded.value()->config();
  const int total = static_cast<int>(o.tokens.size()) + o.steps;
  if (total > c.seq_len) Fail("tokens and steps exceed the model's context of " + std::to_string(c.seq_len));
  for (int t : o.tokens) {
    if (t < 0 || t >= c.vocab_size) Fail("token " + std::to_string(t) + " is outside the vocabulary");
  }

  // One forward function for both: feeds `token` at `pos`, returns its logits row.
  std::unique_ptr<FloatReference> reference;
  std::unique_ptr<SimCard> card;
  std::vector<float> logits(static_cast<size_t>(c.vocab_size));
  if (o.reference == "float") {
    reference = std::make_unique<FloatReference>(loaded.value()->view());
  } else {
    SimCardOptions options;
    options.n_slots = 1;
    options.cache_len = total;
    options.threads = o.threads;
    auto created = SimCard::Create(loaded.value()->image(), options);
    if (!created.ok()) Fail(created.status().message());
    card = std::move(created.value());
  }
  auto forward = [&](int token, int pos) -> const float* {
    if (reference) return reference->Forward(token, pos);
    Step step;
    step.entries.push_back({token, pos, 0, 0});
    step.n_out_rows = 1;
    if (Status st = card->Run(step, logits.data()); !st.ok()) Fail(st.ToString());
    return logits.data();
  };

  nlohmann::json rows = nlohmann::json::array();
  std::vector<int> greedy;
  std::vector<int> input = o.tokens;
  for (int pos = 0;; pos++) {
    const float* row = forward(input[static_cast<size_t>(pos)], pos);
    rows.push_back(LogSoftmaxRow(row, c.vocab_size));
    if (pos + 1 < static_cast<int>(input.size())) continue;
    if (static_cast<int>(greedy.size()) == o.steps) break;
    greedy.push_back(static_cast<int>(std::max_element(row, row + c.vocab_size) - row));
    if (static_cast<int>(greedy.size()) == o.steps) break;
    input.push_back(greedy.back());
  }
  nlohmann::json out;
  out["logprobs"] = std::move(rows);
  out["greedy"] = greedy;
  std::printf("%s\n", out.dump().c_str());
}

}  // namespace

void AddModelLogitsCommand(CLI::App& model) {
  auto o = std::make_shared<LogitsOptions>();
  CLI::App* cmd = model.add_subcommand(
      "logits",
      "Log-probabilities for token ids and the greedy continuation, as JSON (tests/llamacpp/logits.mjs's shape)");
  cmd->add_option("--model", o->model, "llama2.c checkpoint or GGUF file")->required();
  cmd->add_option("--tokens", o->tokens, "token ids, fed as they are (no BOS added)")->delimiter(',')->required();
  cmd->add_option("--reference", o->reference, "kernel (the simulated card) or float (the fp32 reference)")
      ->check(CLI::IsMember({"kernel", "float"}))
      ->capture_default_str();
  cmd->add_option("--steps", o->steps, "greedy tokens after the given ones")
      ->check(CLI::Range(0, 1 << 20))
      ->capture_default_str();
  cmd->add_option("--threads", o->threads, "kernel threads")->check(CLI::Range(1, 256))->capture_default_str();
  cmd->callback([o] { RunLogits(*o); });
}

}  // namespace fpgaserve::cli
