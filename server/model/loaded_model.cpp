#include "server/model/loaded_model.h"

#include "server/model/gguf_tokenizer.h"

namespace fpgaserve {

Status LoadedModel::PackImage() {
  auto image = WeightsImage::Pack(*view_);
  if (!image.ok()) return Status(image.status().code(), name_ + ": " + image.status().message());
  image_ = std::move(image.value());
  return Status::Ok();
}

namespace {

// The kernel computes RoPE with base 10000, RMSNorm with epsilon 1e-5 and no RoPE scaling (llama2.c's
// constants); a model trained with others would run without error and produce wrong logits.
Status CheckKernelMath(const std::string& path, const ModelConfig& c) {
  const ModelConfig defaults;
  std::string problems;
  auto add = [&](const std::string& p) { problems += (problems.empty() ? "" : ", ") + p; };
  if (c.rope_theta != defaults.rope_theta) add("rope_theta " + std::to_string(c.rope_theta) + " (not 10000)");
  if (c.rms_eps != defaults.rms_eps) add("rms_eps " + std::to_string(c.rms_eps) + " (not 1e-05)");
  if (c.rope_scaling.active()) {
    add("RoPE scaling with factor " + std::to_string(c.rope_scaling.factor) + " (original context " +
        std::to_string(c.rope_scaling.original_context) + ")");
  }
  if (problems.empty()) return Status::Ok();
  return Status::InvalidArgument("model file " + path + " needs " + problems +
                                 "; this fpgaserve's kernel does not support them yet (it computes RoPE with "
                                 "base 10000, RMSNorm with epsilon 1e-5 and no RoPE scaling)");
}

}  // namespace

Result<std::shared_ptr<const LoadedModel>> LoadedModel::FromFile(const std::string& path) {
  if (GgufFile::HasMagic(path)) {
    auto gguf = GgufModel::Open(path);
    if (!gguf.ok()) return gguf.status();
    if (Status s = CheckKernelMath(path, gguf.value()->config()); !s.ok()) return s;
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

Result<Tokenizer> LoadTokenizerFor(const LoadedModel& model, const std::string& path, const std::string& fallback_path) {
  const int vocab = model.config().vocab_size;
  if (!path.empty()) return Tokenizer::Load(path, vocab);
  if (model.gguf() != nullptr) return TokenizerFromGguf(*model.gguf(), vocab);
  if (!fallback_path.empty()) return Tokenizer::Load(fallback_path, vocab);
  return Status::InvalidArgument(model.name() + " carries no tokenizer: give a llama2.c tokenizer file");
}

}  // namespace fpgaserve
