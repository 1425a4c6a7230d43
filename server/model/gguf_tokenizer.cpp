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

}  // namespace

Result<Tokenizer> TokenizerFromGguf(const GgufFile& file, int vocab_size) {
  const std::string what = "the tokenizer of model file " + file.path();
  const GgufValue* model = file.Find("tokenizer.ggml.model");
  if (model == nullptr || model->type != GgufValueType::kString) {
    return Status::InvalidArgument(what + " is missing (no tokenizer.ggml.model string)");
  }
  if (model->str != "llama") {
    return Status::InvalidArgument(what + " is of kind \"" + model->str +
                                   "\"; fpgaserve builds only SentencePiece (\"llama\") vocabularies from GGUF "
                                   "files so far: give a llama2.c tokenizer file instead");
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
