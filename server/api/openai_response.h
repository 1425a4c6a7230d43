// OpenAI response bodies and SSE framing: pure functions from results to JSON, so their shape is tested
// without a server.
//
//   completions  {"id":"cmpl-..","object":"text_completion","created":..,"model":..,
//                 "choices":[{"index","text","logprobs","finish_reason"}],"usage":{..}}
//   chat         {"id":"chatcmpl-..","object":"chat.completion",...,
//                 "choices":[{"index","message":{"role":"assistant","content"},"logprobs","finish_reason"}]}
//   chunks       the same with "object":"text_completion" / "chat.completion.chunk", one choice each,
//                "delta" instead of "message" for chat, finish_reason null until the last chunk of a
//                choice; with stream_options.include_usage every chunk carries "usage": null and one more
//                chunk with "choices": [] carries the usage, as OpenAI sends them.
//   SSE          "data: <json>\n\n" per chunk, ": keep-alive\n\n" comments, "data: [DONE]\n\n" last.
// Logprobs: completions use the legacy object {tokens, token_logprobs, top_logprobs, text_offset}
// (text_offset in bytes of the choice's text, echo included); chat uses {content: [{token, logprob, bytes,
// top_logprobs: [{token, logprob, bytes}]}]}. A token's string is its piece as the tokenizer decodes it
// after the previous token; a byte token that is part of a character shows as U+FFFD, its `bytes` exact.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/api/openai_request.h"
#include "server/engine/engine.h"

namespace fpgaserve {

struct ResponseMeta {
  ApiKind kind = ApiKind::kCompletion;
  std::string id;
  int64_t created = 0;
  std::string model;
};

struct Usage {
  int prompt_tokens = 0;
  int completion_tokens = 0;
};

// One sampled token as the logprobs objects report it.
struct TokenReport {
  std::string piece;  // raw bytes of the token
  float logprob = 0.0f;
  std::vector<std::pair<std::string, float>> top;  // alternatives, best first
  size_t text_offset = 0;                          // completions: where the token's text starts in the choice's text
};

struct ChoiceResult {
  int index = 0;
  std::string text;
  FinishReason finish_reason = FinishReason::kStop;
  std::vector<TokenReport> tokens;  // filled when logprobs were asked for
};

// A new random id: "cmpl-" or "chatcmpl-" followed by 24 alphanumerics.
std::string NewResponseId(ApiKind kind);

// The logprobs value of a choice or chunk: null when the request did not ask for logprobs.
nlohmann::json LogprobsJson(const OpenAiRequest& request, const std::vector<TokenReport>& tokens);

nlohmann::json ResponseJson(const ResponseMeta& meta, const OpenAiRequest& request,
                            const std::vector<ChoiceResult>& choices, const Usage& usage);

// One streamed chunk of choice `index`: `text` as the delta, `role` (chat, first chunk) when not empty,
// `finish_reason` when set. `logprobs` as LogprobsJson made it.
nlohmann::json ChunkJson(const ResponseMeta& meta, const OpenAiRequest& request, int index, const std::string& text,
                         const std::string& role, std::optional<FinishReason> finish_reason,
                         const nlohmann::json& logprobs);
nlohmann::json UsageChunkJson(const ResponseMeta& meta, const Usage& usage);
nlohmann::json UsageJson(const Usage& usage);

// Serialises JSON for the wire; invalid UTF-8 in strings becomes U+FFFD instead of throwing.
std::string DumpJson(const nlohmann::json& value);
std::string SseData(const nlohmann::json& value);  // "data: <json>\n\n"
inline constexpr const char* kSseDone = "data: [DONE]\n\n";
inline constexpr const char* kSseKeepAlive = ": keep-alive\n\n";

}  // namespace fpgaserve
