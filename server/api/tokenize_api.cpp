#include "server/api/tokenize_api.h"

#include "server/model/detokenizer.h"

namespace fpgaserve {
namespace {

using nlohmann::json;

Status Bad(std::string* param, const std::string& name, const std::string& why) {
  *param = name;
  return Status::InvalidArgument(name + " " + why);
}

Result<json> ParseObject(const std::string& body) {
  json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Status::InvalidArgument("The request body is not valid JSON.");
  if (!doc.is_object()) return Status::InvalidArgument("The request body must be a JSON object.");
  return doc;
}

}  // namespace

Result<json> TokenizeBody(const std::string& body, const Tokenizer& tokenizer, int context_length, std::string* param) {
  param->clear();
  Result<json> doc = ParseObject(body);
  if (!doc.ok()) return doc.status();
  const json& d = doc.value();
  // llama.cpp's names first; vLLM's otherwise, with vLLM's default.
  const bool llama_cpp = d.contains("content");
  const char* text_key = llama_cpp ? "content" : "prompt";
  const char* special_key = llama_cpp ? "add_special" : "add_special_tokens";
  bool add_special = !llama_cpp;
  if (!d.contains(text_key)) return Bad(param, "content", "(or prompt) is required");
  if (!d[text_key].is_string()) return Bad(param, text_key, "must be a string");
  if (d.contains(special_key) && !d[special_key].is_null()) {
    if (!d[special_key].is_boolean()) return Bad(param, special_key, "must be a boolean");
    add_special = d[special_key].get<bool>();
  }
  // As for completions prompts, special-token spellings in the text are those tokens (the client owns it).
  const std::vector<int> tokens = tokenizer.EncodeWithSpecials(d[text_key].get<std::string>(),
                                                               add_special && tokenizer.add_bos(), false);
  return json{{"tokens", tokens}, {"count", tokens.size()}, {"max_model_len", context_length}};
}

Result<json> DetokenizeBody(const std::string& body, const Tokenizer& tokenizer, std::string* param) {
  param->clear();
  Result<json> doc = ParseObject(body);
  if (!doc.ok()) return doc.status();
  const json& d = doc.value();
  if (!d.contains("tokens") || !d["tokens"].is_array()) return Bad(param, "tokens", "must be an array of token ids");
  StreamDecoder decoder(tokenizer);
  std::string text;
  for (const json& t : d["tokens"]) {
    if (!t.is_number_integer() || t.get<int64_t>() < 0 || t.get<int64_t>() >= tokenizer.vocab_size()) {
      return Bad(param, "tokens",
                 "must hold token ids in [0, " + std::to_string(tokenizer.vocab_size() - 1) + "], not " + t.dump());
    }
    text += decoder.Push(static_cast<int>(t.get<int64_t>()));
  }
  text += decoder.Flush();
  return json{{"content", text}, {"prompt", text}};
}

}  // namespace fpgaserve
