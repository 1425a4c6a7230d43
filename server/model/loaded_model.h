// LoadedModel: a model ready for the cards — its weights (a checkpoint file, or random weights of a
// named shape for benchmarks) and the weights image packed from them once.
//
// Immutable after loading; share it between cards and threads freely.
#pragma once

#include <memory>
#include <string>

#include "fpga/weights_image.h"
#include "server/model/checkpoint.h"
#include "server/model/gguf_model.h"
#include "server/model/random_model.h"
#include "server/model/tokenizer.h"

namespace fpgaserve {

class LoadedModel {
 public:
  // Opens and packs a model file: GGUF when it starts with the magic "GGUF" (GgufModel::Open), a llama2.c
  // checkpoint otherwise (Checkpoint::Open). Errors from those and from WeightsImage::Pack. A GGUF's
  // rope_theta, rms_eps and RoPE scaling are the model's config; the card takes them from the host.
  static Result<std::shared_ptr<const LoadedModel>> FromFile(const std::string& path);
  // Random weights of a named shape (see NamedShape), for benchmarks and tests.
  static Result<std::shared_ptr<const LoadedModel>> Random(const std::string& shape, uint64_t seed);

  const ModelView& view() const { return *view_; }
  const ModelConfig& config() const { return view_->config; }
  const std::shared_ptr<const WeightsImage>& image() const { return image_; }
  // The file it came from, or "random:<shape>".
  const std::string& name() const { return name_; }
  // The GGUF file when the model came from one (its metadata and tokenizer), else nullptr.
  const GgufFile* gguf() const { return gguf_ ? &gguf_->file() : nullptr; }

 private:
  LoadedModel() = default;
  Status PackImage();

  std::string name_;
  std::unique_ptr<Checkpoint> checkpoint_;  // when loaded from a llama2.c file
  std::unique_ptr<GgufModel> gguf_;         // when loaded from a GGUF file
  RandomModel random_;                      // when random
  const ModelView* view_ = nullptr;
  std::shared_ptr<const WeightsImage> image_;
};

// The tokenizer to run `model` with: the llama2.c tokenizer file `path` when it is not empty; otherwise the
// GGUF's own vocabulary when the model came from a GGUF file (TokenizerFromGguf); otherwise the file
// `fallback_path` (e.g. the bundled tokenizer), or InvalidArgument asking for a tokenizer file when that is
// empty too. Errors from Tokenizer::Load and TokenizerFromGguf.
Result<Tokenizer> LoadTokenizerFor(const LoadedModel& model, const std::string& path, const std::string& fallback_path);

}  // namespace fpgaserve
