#include "server/api/openai_response.h"

#include <random>

namespace fpgaserve {
namespace {

using nlohmann::json;

json BytesJson(const std::string& s) {
  json bytes = json::array();
  for (unsigned char c : s) bytes.push_back(static_cast<int>(c));
  return bytes;
}

const char* ObjectName(ApiKind kind, bool chunk) {
  if (kind == ApiKind::kCompletion) return "text_completion";
  return chunk ? "chat.completion.chunk" : "chat.completion";
}

json Header(const ResponseMeta& meta, bool chunk) {
  return {{"id", meta.id}, {"object", ObjectName(meta.kind, chunk)}, {"created", meta.created}, {"model", meta.model}};
}

// OpenAI's spelling (engine.h's FinishReasonName says the same; kept here so that this file stays a leaf).
const char* FinishText(FinishReason reason) { return reason == FinishReason::kLength ? "length" : "stop"; }

}  // namespace

std::string NewResponseId(ApiKind kind) {
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string id = kind == ApiKind::kChat ? "chatcmpl-" : "cmpl-";
  for (int i = 0; i < 24; ++i) id += kAlphabet[rng() % (sizeof(kAlphabet) - 1)];
  return id;
}

json LogprobsJson(const OpenAiRequest& request, const std::vector<TokenReport>& tokens) {
  if (request.kind == ApiKind::kCompletion) {
    if (request.legacy_logprobs < 0) return nullptr;
    json out = {{"tokens", json::array()},
                {"token_logprobs", json::array()},
                {"top_logprobs", json::array()},
                {"text_offset", json::array()}};
    for (const TokenReport& t : tokens) {
      out["tokens"].push_back(t.piece);
      out["token_logprobs"].push_back(t.logprob);
      json top = json::object();
      for (const auto& [piece, lp] : t.top) {
        if (!top.contains(piece)) top[piece] = lp;  // two ids may decode alike; keep the likelier
      }
      out["top_logprobs"].push_back(std::move(top));
      out["text_offset"].push_back(t.text_offset);
    }
    return out;
  }
  if (!request.chat_logprobs) return nullptr;
  json content = json::array();
  for (const TokenReport& t : tokens) {
    json top = json::array();
    for (const auto& [piece, lp] : t.top) {
      top.push_back({{"token", piece}, {"logprob", lp}, {"bytes", BytesJson(piece)}});
    }
    content.push_back(
        {{"token", t.piece}, {"logprob", t.logprob}, {"bytes", BytesJson(t.piece)}, {"top_logprobs", std::move(top)}});
  }
  return {{"content", std::move(content)}, {"refusal", nullptr}};
}

json UsageJson(const Usage& usage) {
  return {{"prompt_tokens", usage.prompt_tokens},
          {"completion_tokens", usage.completion_tokens},
          {"total_tokens", usage.prompt_tokens + usage.completion_tokens}};
}

json ResponseJson(const ResponseMeta& meta, const OpenAiRequest& request, const std::vector<ChoiceResult>& choices,
                  const Usage& usage) {
  json out = Header(meta, /*chunk=*/false);
  json list = json::array();
  for (const ChoiceResult& c : choices) {
    json choice = {{"index", c.index}};
    if (meta.kind == ApiKind::kCompletion) {
      choice["text"] = c.text;
    } else {
      choice["message"] = {{"role", "assistant"}, {"content", c.text}};
    }
    choice["logprobs"] = LogprobsJson(request, c.tokens);
    choice["finish_reason"] = FinishText(c.finish_reason);
    list.push_back(std::move(choice));
  }
  out["choices"] = std::move(list);
  out["usage"] = UsageJson(usage);
  return out;
}

json ChunkJson(const ResponseMeta& meta, const OpenAiRequest& request, int index, const std::string& text,
               const std::string& role, std::optional<FinishReason> finish_reason, const json& logprobs) {
  json out = Header(meta, /*chunk=*/true);
  json choice = {{"index", index}};
  if (meta.kind == ApiKind::kCompletion) {
    choice["text"] = text;
  } else {
    json delta = json::object();
    if (!role.empty()) delta["role"] = role;
    if (!text.empty() || !role.empty()) delta["content"] = text;
    choice["delta"] = std::move(delta);
  }
  choice["logprobs"] = logprobs;
  choice["finish_reason"] = finish_reason ? json(FinishText(*finish_reason)) : json(nullptr);
  out["choices"] = json::array({std::move(choice)});
  if (request.include_usage) out["usage"] = nullptr;
  return out;
}

json UsageChunkJson(const ResponseMeta& meta, const Usage& usage) {
  json out = Header(meta, /*chunk=*/true);
  out["choices"] = json::array();
  out["usage"] = UsageJson(usage);
  return out;
}

std::string DumpJson(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string SseData(const json& value) { return "data: " + DumpJson(value) + "\n\n"; }

}  // namespace fpgaserve
