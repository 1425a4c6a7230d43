#include "server/bench/workload.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <random>

#include <nlohmann/json.hpp>

namespace fpgaserve {

using nlohmann::json;

namespace {

constexpr const char* kWords[] = {"time",  "person",    "year",   "way",    "day",     "thing",   "man",    "world",
                                  "life",  "hand",      "part",   "child",  "eye",     "woman",   "place",  "work",
                                  "week",  "case",      "point",  "number", "group",   "problem", "fact",   "good",
                                  "new",   "first",     "last",   "long",   "great",   "little",  "own",    "other",
                                  "old",   "right",     "big",    "high",   "small",   "large",   "next",   "early",
                                  "young", "important", "few",    "public", "bad",     "same",    "able",   "go",
                                  "make",  "know",      "take",   "see",    "come",    "think",   "look",   "want",
                                  "give",  "use",       "find",   "tell",   "ask",     "seem",    "feel",   "try",
                                  "leave", "call",      "garden", "letter", "morning", "evening", "sister", "house",
                                  "road"};
constexpr int kFirstTokenId = 3;  // llama2.c tokenizers: 0 <unk>, 1 <s>, 2 </s>

json Body(const WorkloadOptions& o, json prompt, bool is_messages, int max_tokens) {
  json body = {{"model", o.model},
               {"max_tokens", max_tokens},
               {"ignore_eos", true},
               {"stream", true},
               {"stream_options", {{"include_usage", true}}}};
  if (o.endpoint == Endpoint::kChat) {
    body["messages"] = is_messages ? std::move(prompt)
                                   : json::array({{{"role", "user"}, {"content", std::move(prompt)}}});
  } else {
    body["prompt"] = std::move(prompt);
  }
  return body;
}

Status CheckSizes(const WorkloadOptions& o) {
  if (o.num_prompts < 1) return Status::InvalidArgument("--num-prompts must be at least 1");
  if (o.input_tokens < 1 || o.output_tokens < 1)
    return Status::InvalidArgument("--input-tokens and --output-tokens must be at least 1");
  if (o.vocab_size <= kFirstTokenId) return Status::InvalidArgument("--vocab-size must be more than 3");
  return Status::Ok();
}

}  // namespace

const char* EndpointPath(Endpoint endpoint) {
  return endpoint == Endpoint::kChat ? "/v1/chat/completions" : "/v1/completions";
}

std::string RandomWords(int n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<size_t> pick(0, std::size(kWords) - 1);
  std::string text;
  for (int i = 0; i < n; i++) {
    if (i > 0) text.push_back(' ');
    text += kWords[pick(rng)];
  }
  return text;
}

Result<std::vector<RequestSpec>> RandomWorkload(const WorkloadOptions& o) {
  if (Status st = CheckSizes(o); !st.ok()) return st;
  if (o.endpoint == Endpoint::kChat && o.prompt_kind == PromptKind::kTokenIds) {
    return Status::InvalidArgument("chat prompts are text: token-id prompts need --endpoint completions");
  }
  std::mt19937_64 rng(o.seed);
  std::uniform_int_distribution<int> token(kFirstTokenId, o.vocab_size - 1);
  std::vector<RequestSpec> specs(o.num_prompts);
  for (RequestSpec& spec : specs) {
    json prompt;
    if (o.prompt_kind == PromptKind::kTokenIds) {
      std::vector<int> ids(o.input_tokens);
      for (int& id : ids) id = token(rng);
      prompt = ids;
      spec.input_tokens = o.input_tokens;
    } else {
      const int words = std::max(1, static_cast<int>(std::lround(o.input_tokens / o.tokens_per_word)));
      prompt = RandomWords(words, rng());
      spec.input_tokens = o.input_tokens;  // an estimate; the usage chunk has the real count
    }
    spec.output_tokens = o.output_tokens;
    spec.body = Body(o, std::move(prompt), false, o.output_tokens).dump();
  }
  return specs;
}

Result<std::vector<RequestSpec>> DatasetWorkload(const std::string& path, const WorkloadOptions& o) {
  if (Status st = CheckSizes(o); !st.ok()) return st;
  std::ifstream in(path);
  if (!in) return Status::NotFound("cannot open the dataset " + path);
  std::vector<RequestSpec> lines;
  std::string line;
  for (int n = 1; std::getline(in, line); n++) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = path + ":" + std::to_string(n);
    json j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return Status::InvalidArgument(where + " is not a JSON object");
    RequestSpec spec;
    spec.output_tokens = o.output_tokens;
    if (auto m = j.find("max_tokens"); m != j.end()) {
      if (!m->is_number_integer() || m->get<int>() < 1)
        return Status::InvalidArgument(where + ": max_tokens must be a positive integer");
      spec.output_tokens = m->get<int>();
    }
    if (auto p = j.find("prompt"); p != j.end()) {
      if (p->is_array() && o.endpoint == Endpoint::kChat)
        return Status::InvalidArgument(where + ": token-id prompts need --endpoint completions");
      if (!p->is_string() && !p->is_array())
        return Status::InvalidArgument(where + ": prompt must be a string or a list of token ids");
      spec.input_tokens = p->is_array() ? static_cast<int>(p->size()) : 0;  // 0: unknown until usage says
      spec.body = Body(o, *p, false, spec.output_tokens).dump();
    } else if (auto m2 = j.find("messages"); m2 != j.end()) {
      if (o.endpoint != Endpoint::kChat) return Status::InvalidArgument(where + " has messages: use --endpoint chat");
      if (!m2->is_array()) return Status::InvalidArgument(where + ": messages must be a list");
      spec.body = Body(o, *m2, true, spec.output_tokens).dump();
    } else {
      return Status::InvalidArgument(where + " has neither \"prompt\" nor \"messages\"");
    }
    lines.push_back(std::move(spec));
  }
  if (lines.empty()) return Status::InvalidArgument("the dataset " + path + " has no requests");
  std::vector<RequestSpec> specs;
  specs.reserve(o.num_prompts);
  for (int i = 0; i < o.num_prompts; i++) specs.push_back(lines[i % lines.size()]);
  return specs;
}

}  // namespace fpgaserve
