#include "server/model/loaded_model.h"

#include "server/model/gguf_tokenizer.h"

namespace fpgaserve {

Status LoadedModel::PackImage() {
  auto image = WeightsImage::Pack(*view_);
  if (!image.ok()) return Status(image.status().code(), name_ + ": " + image.status().message());
  image_ = std::move(image.value());
  return Status::Ok();
}

Result<std::shared_ptr<const LoadedModel>> LoadedModel::FromFile(const std::string& path) {
  if (GgufFile::HasMagic(path)) {
    auto gguf = GgufModel::Open(path);
    if (!gguf.ok()) return gguf.status();
    std::shared_ptr<LoadedModel> m(new LoadedModel());
    m->name_ = path;
    m->gguf_ = std::move(gguf.value());
    m->view_ = &m->gguf_->view();
    if (Status st = m->PackImage(); !st.ok()) return st;
    return std::shared_ptr<const LoadedModel>(std::move(m));
  }
  auto checkpoint = Checkpoint::Open(path);
  if (!checkpoint.ok()) return checkpoint.status();
  std::shared_ptr<LoadedModel> m(new LoadedModel());
  m->name_ = path;
  m->checkpoint_ = std::move(checkpoint.value());
  m->view_ = &m->checkpoint_->view();
  if (Status st = m->PackImage(); !st.ok()) return st;
  return std::shared_ptr<const LoadedModel>(std::move(m));
}

Result<std::shared_ptr<const LoadedModel>> LoadedModel::Random(const std::string& shape, uint64_t seed) {
  auto config = NamedShape(shape);
  if (!config.ok()) return config.status();
  std::shared_ptr<LoadedModel> m(new LoadedModel());
  m->name_ = "random:" + shape;
  m->random_ = MakeRandomModel(config.value(), seed);
  m->view_ = &m->random_.view;
  if (Status st = m->PackImage(); !st.ok()) return st;
  return std::shared_ptr<const LoadedModel>(std::move(m));
}

Result<Tokenizer> LoadTokenizerFor(const LoadedModel& model, const std::string& path,
                                   const std::string& fallback_path) {
  const int vocab = model.config().vocab_size;
  if (!path.empty()) return Tokenizer::Load(path, vocab);
  if (model.gguf() != nullptr) return TokenizerFromGguf(*model.gguf(), vocab);
  if (!fallback_path.empty()) return Tokenizer::Load(fallback_path, vocab);
  return Status::InvalidArgument(model.name() + " carries no tokenizer: give a llama2.c tokenizer file");
}

}  // namespace fpgaserve
