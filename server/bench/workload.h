// What a run sends: the request bodies, built before the run starts so that building them costs nothing
// while it is timed.
//
// Random prompts come as token ids (exact input lengths: the OpenAI completions API accepts a list of ints
// as "prompt") or as random words (for chat, where the prompt is text; the server's tokenizer decides the
// count, so the words per token are calibrated from the server's /tokenize when it has one). Every request
// asks for exactly output_tokens: max_tokens plus "ignore_eos": true (a vLLM extension our server honours).
// Every request streams and asks for a final usage chunk.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "server/bench/load_client.h"

namespace fpgaserve {

enum class Endpoint { kCompletions, kChat };
enum class PromptKind { kTokenIds, kText };

// "/v1/completions" or "/v1/chat/completions".
const char* EndpointPath(Endpoint endpoint);

struct WorkloadOptions {
  std::string model;
  Endpoint endpoint = Endpoint::kCompletions;
  int num_prompts = 100;
  int input_tokens = 64;
  int output_tokens = 64;
  PromptKind prompt_kind = PromptKind::kTokenIds;  // REQUIRES: kText for the chat endpoint
  int vocab_size = 512;          // token ids are drawn from [3, vocab_size): 0-2 are unk/bos/eos in llama2.c
  double tokens_per_word = 1.3;  // for text prompts: words = input_tokens / tokens_per_word
  uint64_t seed = 0;
};

// num_prompts requests with random prompts, reproducible from the seed. InvalidArgument on bad sizes.
Result<std::vector<RequestSpec>> RandomWorkload(const WorkloadOptions& options);

// Requests from a JSONL file: one object per line with "prompt" (a string or a list of token ids) or
// "messages" (chat), and optionally "max_tokens" (else options.output_tokens). Lines are used in order and
// reused from the top when the file has fewer than num_prompts. A "prompt" line sent to the chat endpoint
// becomes one user message; a "messages" line for the completions endpoint is an error.
// Errors: NotFound (file), InvalidArgument naming the line.
Result<std::vector<RequestSpec>> DatasetWorkload(const std::string& path, const WorkloadOptions& options);

// `n` random words, space-separated, from a fixed list of common English words.
std::string RandomWords(int n, uint64_t seed);

}  // namespace fpgaserve
