// OpenAiRequest: the body of POST /v1/completions or /v1/chat/completions, parsed and checked.
//
// Parsing is schema-only: types and ranges of every known field, each error naming the offending field as
// OpenAI's `param` does ("temperature", "messages[1].content"). Unknown fields are ignored (clients send
// many). What needs the model (token ids in range, prompt length against the context) is checked later,
// in PrepareRequest (request_preparer.h).
//
// Accepted fields (both endpoints unless marked):
//   model            string; optional here (missing = the served model); another name -> 404 later
//   prompt           [completions] string | [string] | [int] | [[int]]; required
//   messages         [chat] [{role: system|developer|user|assistant, content: string | [{type:"text",text}]}]
//   max_tokens, max_completion_tokens   int >= 1 or null (the latter wins when both are given)
//   temperature [0,2], top_p (0,1], top_k int (-1 or 0 = off), min_p [0,1], seed int,
//   presence_penalty, frequency_penalty [-2,2], repetition_penalty (0,10], logit_bias {"id": [-100,100]}
//   stop             string | [string] (<= 4, each non-empty) | null
//   n                int in [1, max_n]
//   logprobs         [completions] int 0..5 | null: the legacy logprobs object with that many alternatives
//                    [chat] bool; top_logprobs int 0..20 (requires logprobs: true)
//   echo             [completions] bool: the prompt text before the completion (not with logprobs)
//   stream bool, stream_options {include_usage: bool}, user string, ignore_eos bool (vLLM)
// Numbers may be JSON integers or floats where a float is expected; an integer field accepts a float only
// when it is integral (5.0). null means "absent" for every optional field, as in OpenAI's API.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "server/api/chat_template.h"
#include "server/engine/sampler.h"

namespace fpgaserve {

enum class ApiKind { kCompletion, kChat };

// One completions prompt: text, or token ids given by the client.
struct PromptInput {
  bool is_tokens = false;
  std::string text;
  std::vector<int64_t> tokens;  // range-checked against the vocabulary later
};

struct OpenAiRequest {
  ApiKind kind = ApiKind::kCompletion;
  std::string model;                  // "" when absent
  std::vector<PromptInput> prompts;   // completions: one or more
  std::vector<ChatMessage> messages;  // chat
  std::optional<int> max_tokens;
  SamplingParams sampling;  // logprobs / top_logprobs filled as the engine wants them
  std::vector<std::string> stop;
  int n = 1;
  bool echo = false;
  bool stream = false;
  bool include_usage = false;
  std::string user;
  bool ignore_eos = false;
  // completions: the legacy `logprobs` integer (-1 when absent); chat: whether `logprobs` was true.
  int legacy_logprobs = -1;
  bool chat_logprobs = false;
};

struct RequestLimits {
  int max_n = 16;
};

// Parses a request body (JSON text). On failure returns InvalidArgument and sets *param (never null).
// Sampling ranges are checked too, except logit_bias keys against the vocabulary (see PrepareRequest).
Result<OpenAiRequest> ParseOpenAiRequest(ApiKind kind, const std::string& body, const RequestLimits& limits,
                                         std::string* param);

}  // namespace fpgaserve
