#include "server/model/gguf_tokenizer.h"

#include <string>
#include <vector>

namespace fpgaserve {
namespace {

// SentencePiece marks a word start with U+2581 (LOWER ONE EIGHTH BLOCK); our pieces spell it as ' '.
std::string SpacesFromMarkers(const std::string& piece) {
  static constexpr std::string_view kMarker = "\xe2\x96\x81";
  std::string out;
  out.reserve(piece.size());
  for (size_t i = 0; i < piece.size();) {
    if (piece.compare(i, kMarker.size(), kMarker) == 0) {
      out += ' ';
      i += kMarker.size();
    } else {
      out += piece[i++];
    }
  }
  return out;
}

// An optional token id key: -1 when absent; false (with `error` set) when present but not an integer id.
bool OptionalId(const GgufFile& file, const char* key, const std::string& what, int* id, Status* error) {
  *id = -1;
  const GgufValue* v = file.Find(key);
  if (v == nullptr) return true;
  int64_t value = 0;
  if (!v->ToInt(0, INT32_MAX, &value)) {
    *error = Status::InvalidArgument(what + ": " + key + " must be a non-negative integer token id, it is " +
                                     v->Summary());
    return false;
  }
  *id = static_cast<int>(value);
  return true;
}

bool OptionalBool(const GgufFile& file, const char* key, const std::string& what, bool* out, Status* error) {
  const GgufValue* v = file.Find(key);
  if (v == nullptr) return true;
  if (v->type != GgufValueType::kBool) {
    *error = Status::InvalidArgument(what + ": " + key + " must be a bool, it is " + v->Summary());
    return false;
  }
  *out = v->b;
  return true;
}

const GgufValue* StringArray(const GgufFile& file, const char* key) {
  const GgufValue* v = file.Find(key);
  return v != nullptr && v->type == GgufValueType::kArray && v->element_type == GgufValueType::kString ? v : nullptr;
}

Result<Tokenizer> ByteLevelFromGguf(const GgufFile& file, int vocab_size, const std::string& what) {
  const GgufValue* pre = file.Find("tokenizer.ggml.pre");
  if (pre == nullptr || pre->type != GgufValueType::kString) {
    return Status::InvalidArgument(what +
                                   " is a byte-level BPE (\"gpt2\") vocabulary without a tokenizer.ggml.pre "
                                   "string; fpgaserve needs it to know the pre-tokenizer");
  }
  Result<std::shared_ptr<const Pretokenizer>> pretokenizer = Pretokenizer::Create(pre->str);
  if (!pretokenizer.ok()) {
    return Status::InvalidArgument(what + ": tokenizer.ggml.pre: " + pretokenizer.status().message());
  }
  const GgufValue* tokens = StringArray(file, "tokenizer.ggml.tokens");
  if (tokens == nullptr || tokens->array.size() != static_cast<size_t>(vocab_size)) {
    const GgufValue* t = file.Find("tokenizer.ggml.tokens");
    return Status::InvalidArgument(what + ": tokenizer.ggml.tokens must be an array of " + std::to_string(vocab_size) +
                                   " strings" + (t != nullptr ? ", it is " + t->Summary() : std::string()));
  }
  std::vector<TokenType> types(tokens->array.size(), TokenType::kNormal);
  if (const GgufValue* t = file.Find("tokenizer.ggml.token_type")) {
    if (t->type != GgufValueType::kArray ||
        !(t->element_type == GgufValueType::kInt32 || t->element_type == GgufValueType::kUint32) ||
        t->array.size() != types.size()) {
      return Status::InvalidArgument(what + ": tokenizer.ggml.token_type must be an array of " +
                                     std::to_string(vocab_size) + " int32s, it is " + t->Summary());
    }
    for (size_t i = 0; i < types.size(); ++i) {
      int64_t type = 0;
      if (!t->array[i].ToInt(0, INT32_MAX, &type)) type = 0;  // refused below with the token named
      types[i] = static_cast<TokenType>(type);
    }
  }
  const GgufValue* merges = StringArray(file, "tokenizer.ggml.merges");
  if (merges == nullptr) {
    const GgufValue* m = file.Find("tokenizer.ggml.merges");
    return Status::InvalidArgument(what + ": tokenizer.ggml.merges must be an array of strings (\"left right\"), " +
                                   (m != nullptr ? "it is " + m->Summary() : std::string("it is absent")));
  }
  std::vector<std::string> merge_texts;
  merge_texts.reserve(merges->array.size());
  for (const GgufValue& m : merges->array) merge_texts.push_back(m.str);
  std::vector<std::string> token_texts;
  token_texts.reserve(tokens->array.size());
  for (const GgufValue& t : tokens->array) token_texts.push_back(t.str);
  Result<std::shared_ptr<const ByteLevelBpe>> vocab = ByteLevelBpe::Create(std::move(token_texts), std::move(types),
                                                                           merge_texts, std::move(pretokenizer.value()),
                                                                           what);
  if (!vocab.ok()) return vocab.status();

  ByteLevelBpeIds ids;
  Status error;
  if (!OptionalId(file, "tokenizer.ggml.bos_token_id", what, &ids.bos, &error) ||
      !OptionalId(file, "tokenizer.ggml.eos_token_id", what, &ids.eos, &error) ||
      !OptionalId(file, "tokenizer.ggml.eot_token_id", what, &ids.eot, &error) ||
      !OptionalId(file, "tokenizer.ggml.eom_token_id", what, &ids.eom, &error) ||
      !OptionalId(file, "tokenizer.ggml.unknown_token_id", what, &ids.unk, &error) ||
      !OptionalId(file, "tokenizer.ggml.padding_token_id", what, &ids.pad, &error)) {
    return error;
  }
  // Without the key, a prompt starts with BOS for Llama 3 (its tokenizer adds <|begin_of_text|>) and not for
  // SmolLM2 (GPT-2-style tokenizers add nothing), as llama.cpp decides by the pre-tokenizer.
  ids.add_bos = pre->str == "llama-bpe";
  if (!OptionalBool(file, "tokenizer.ggml.add_bos_token", what, &ids.add_bos, &error) ||
      !OptionalBool(file, "tokenizer.ggml.add_eos_token", what, &ids.add_eos, &error)) {
    return error;
  }
  return Tokenizer::FromByteLevelBpe(std::move(vocab.value()), ids, what);
}

}  // namespace

Result<Tokenizer> TokenizerFromGguf(const GgufFile& file, int vocab_size) {
  const std::string what = "the tokenizer of model file " + file.path();
  const GgufValue* model = file.Find("tokenizer.ggml.model");
  if (model == nullptr || model->type != GgufValueType::kString) {
    return Status::InvalidArgument(what + " is missing (no tokenizer.ggml.model string)");
  }
  if (model->str == "gpt2") return ByteLevelFromGguf(file, vocab_size, what);
  if (model->str != "llama") {
    return Status::InvalidArgument(what + " is of kind \"" + model->str +
                                   "\"; fpgaserve builds SentencePiece (\"llama\") and byte-level BPE (\"gpt2\") "
                                   "vocabularies from GGUF files: give a llama2.c tokenizer file instead");
  }
  const GgufValue* tokens = file.Find("tokenizer.ggml.tokens");
  if (tokens == nullptr || tokens->type != GgufValueType::kArray || tokens->element_type != GgufValueType::kString ||
      tokens->array.size() != static_cast<size_t>(vocab_size)) {
    return Status::InvalidArgument(what + ": tokenizer.ggml.tokens must be an array of " + std::to_string(vocab_size) +
                                   " strings" + (tokens != nullptr ? ", it is " + tokens->Summary() : std::string()));
  }
  std::vector<float> scores(static_cast<size_t>(vocab_size), 0.0f);
  if (const GgufValue* s = file.Find("tokenizer.ggml.scores")) {
    if (s->type != GgufValueType::kArray || s->element_type != GgufValueType::kFloat32 ||
        s->array.size() != scores.size()) {
      return Status::InvalidArgument(what + ": tokenizer.ggml.scores must be an array of " +
                                     std::to_string(vocab_size) + " float32s, it is " + s->Summary());
    }
    for (size_t i = 0; i < scores.size(); i++) scores[i] = static_cast<float>(s->array[i].f);
  }
  const std::pair<const char*, int> ids[] = {{"tokenizer.ggml.unknown_token_id", Tokenizer::kUnkId},
                                             {"tokenizer.ggml.bos_token_id", Tokenizer::kBosId},
                                             {"tokenizer.ggml.eos_token_id", Tokenizer::kEosId}};
  for (const auto& [key, expected] : ids) {
    const GgufValue* v = file.Find(key);
    int64_t id = 0;
    if (v != nullptr && (!v->ToInt(0, INT32_MAX, &id) || id != expected)) {
      return Status::InvalidArgument(what + " has " + key + " " + v->Summary() + "; fpgaserve's engine needs " +
                                     std::to_string(expected) + " (<unk> 0, BOS 1, EOS 2, as in Llama 2)");
    }
  }
  std::vector<std::string> pieces;
  pieces.reserve(tokens->array.size());
  for (const GgufValue& t : tokens->array) pieces.push_back(SpacesFromMarkers(t.str));
  return Tokenizer::FromPieces(std::move(pieces), std::move(scores), what);
}

}  // namespace fpgaserve
