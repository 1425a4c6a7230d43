#include "server/model/loaded_model.h"

namespace fpgaserve {

Status LoadedModel::PackImage() {
  auto image = WeightsImage::Pack(*view_);
  if (!image.ok()) return Status(image.status().code(), name_ + ": " + image.status().message());
  image_ = std::move(image.value());
  return Status::Ok();
}

Result<std::shared_ptr<const LoadedModel>> LoadedModel::FromFile(const std::string& path) {
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

}  // namespace fpgaserve
