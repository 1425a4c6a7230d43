// LoadedModel: a model ready for the cards — its weights (a checkpoint file, or random weights of a
// named shape for benchmarks) and the weights image packed from them once.
//
// Immutable after loading; share it between cards and threads freely.
#pragma once

#include <memory>
#include <string>

#include "fpga/weights_image.h"
#include "server/model/checkpoint.h"
#include "server/model/random_model.h"

namespace fpgaserve {

class LoadedModel {
 public:
  // Opens and packs a llama2.c checkpoint. Errors from Checkpoint::Open and WeightsImage::Pack.
  static Result<std::shared_ptr<const LoadedModel>> FromFile(const std::string& path);
  // Random weights of a named shape (see NamedShape), for benchmarks and tests.
  static Result<std::shared_ptr<const LoadedModel>> Random(const std::string& shape, uint64_t seed);

  const ModelView& view() const { return *view_; }
  const ModelConfig& config() const { return view_->config; }
  const std::shared_ptr<const WeightsImage>& image() const { return image_; }
  // The file it came from, or "random:<shape>".
  const std::string& name() const { return name_; }

 private:
  LoadedModel() = default;
  Status PackImage();

  std::string name_;
  std::unique_ptr<Checkpoint> checkpoint_;  // when loaded from a file
  RandomModel random_;                      // when random
  const ModelView* view_ = nullptr;
  std::shared_ptr<const WeightsImage> image_;
};

}  // namespace fpgaserve
