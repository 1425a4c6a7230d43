#include "server/model/checkpoint_writer.h"

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "base/atomic_file.h"
#include "fpga/q8_0.h"

namespace fpgaserve {
namespace {

constexpr uint32_t kMagic = 0x616b3432;  // "ak42"; on disk the bytes 32 34 6b 61, "24ka"
constexpr size_t kHeaderBytes = 256;

// Checks that the view has every tensor, with the shape its config implies.
Status CheckView(const ModelView& m) {
  const ModelConfig& c = m.config;
  if (Status s = ValidateModelConfig(c); !s.ok()) return s;
  if (m.layers.size() != static_cast<size_t>(c.n_layers)) {
    return Status::InvalidArgument("the view has " + std::to_string(m.layers.size()) + " layers, its config " +
                                   std::to_string(c.n_layers));
  }
  auto matrix = [](const MatrixView& v, int rows, int cols, const std::string& name) {
    if (v.rows != rows || v.cols != cols) {
      return Status::InvalidArgument(name + " is " + std::to_string(v.rows) + "x" + std::to_string(v.cols) +
                                     ", the config says " + std::to_string(rows) + "x" + std::to_string(cols));
    }
    if (v.f32 == nullptr && (v.q == nullptr || v.s == nullptr)) {
      return Status::InvalidArgument(name + " has no values");
    }
    return Status::Ok();
  };
  Status s = matrix(m.token_embedding, c.vocab_size, c.dim, "token_embedding");
  if (s.ok() && !c.shared_classifier) s = matrix(m.classifier, c.vocab_size, c.dim, "classifier");
  if (s.ok() && m.rms_final == nullptr) s = Status::InvalidArgument("rms_final has no values");
  for (size_t l = 0; s.ok() && l < m.layers.size(); l++) {
    const LayerView& L = m.layers[l];
    const std::string at = " of layer " + std::to_string(l);
    if (L.rms_att == nullptr || L.rms_ffn == nullptr) return Status::InvalidArgument("a norm" + at + " has no values");
    const std::pair<const MatrixView*, std::pair<int, int>> ms[] = {
        {&L.wq, {c.dim, c.dim}},       {&L.wk, {c.kv_dim(), c.dim}},   {&L.wv, {c.kv_dim(), c.dim}},
        {&L.wo, {c.dim, c.dim}},       {&L.w1, {c.hidden_dim, c.dim}}, {&L.w2, {c.dim, c.hidden_dim}},
        {&L.w3, {c.hidden_dim, c.dim}}};
    const char* names[] = {"wq", "wk", "wv", "wo", "w1", "w2", "w3"};
    for (int i = 0; s.ok() && i < 7; i++) {
      s = matrix(*ms[i].first, ms[i].second.first, ms[i].second.second, names[i] + at);
    }
  }
  return s;
}

// Buffered writes to the temporary file; the first error sticks.
class Sink {
 public:
  explicit Sink(std::FILE* f) : f_(f) {}
  void Write(const void* data, size_t bytes) {
    if (err_ == 0 && bytes > 0 && std::fwrite(data, 1, bytes, f_) != bytes) err_ = errno ? errno : EIO;
  }
  template <typename T>
  void Values(const T* p, size_t n) {
    Write(p, n * sizeof(T));
  }
  int err() const { return err_; }

 private:
  std::FILE* f_;
  int err_ = 0;
};

void WriteMatrix(Sink& out, const MatrixView& m, CheckpointFormat format, int group_size, std::vector<float>& f32,
                 std::vector<int8_t>& q, std::vector<float>& s) {
  const size_t n = static_cast<size_t>(m.rows) * static_cast<size_t>(m.cols);
  const size_t groups = n / static_cast<size_t>(group_size);
  if (format == CheckpointFormat::kV1Float) {
    if (m.f32 != nullptr) return out.Values(m.f32, n);
    f32.resize(n);
    DequantizeQ8_0(m.q, m.s, n, group_size, f32.data());
    return out.Values(f32.data(), n);
  }
  if (m.quantized()) {
    out.Values(m.q, n);
    return out.Values(m.s, groups);
  }
  q.resize(n);
  s.resize(groups);
  QuantizeQ8_0(m.f32, n, group_size, q.data(), s.data());
  out.Values(q.data(), n);
  out.Values(s.data(), groups);
}

void WriteHeader(Sink& out, const ModelConfig& c, CheckpointFormat format) {
  uint8_t header[kHeaderBytes] = {};
  const int32_t version = format == CheckpointFormat::kV1Float ? 1 : 2;
  const int32_t params[7] = {c.dim, c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads, c.vocab_size, c.seq_len};
  std::memcpy(header + 0, &kMagic, 4);
  std::memcpy(header + 4, &version, 4);
  std::memcpy(header + 8, params, sizeof params);
  header[36] = c.shared_classifier ? 1 : 0;
  if (format == CheckpointFormat::kV2Q8) std::memcpy(header + 37, &c.group_size, 4);  // unaligned, as llama2.c
  out.Write(header, sizeof header);
}

// The body in v1/v2 order: norms, embedding, matrices tensor by tensor across layers, classifier.
void WriteBody(Sink& out, const ModelView& m, CheckpointFormat format) {
  const ModelConfig& c = m.config;
  const size_t dim = static_cast<size_t>(c.dim);
  for (const LayerView& l : m.layers) out.Values(l.rms_att, dim);
  for (const LayerView& l : m.layers) out.Values(l.rms_ffn, dim);
  out.Values(m.rms_final, dim);
  std::vector<float> f32;
  std::vector<int8_t> q;
  std::vector<float> s;
  WriteMatrix(out, m.token_embedding, format, c.group_size, f32, q, s);
  for (MatrixView LayerView::*field : {&LayerView::wq, &LayerView::wk, &LayerView::wv, &LayerView::wo, &LayerView::w1,
                                       &LayerView::w2, &LayerView::w3}) {
    for (const LayerView& l : m.layers) WriteMatrix(out, l.*field, format, c.group_size, f32, q, s);
  }
  if (!c.shared_classifier) WriteMatrix(out, m.classifier, format, c.group_size, f32, q, s);
}

}  // namespace

Status WriteCheckpoint(const ModelView& model, const std::string& path, CheckpointFormat format) {
  if (format != CheckpointFormat::kV1Float && format != CheckpointFormat::kV2Q8) {
    return Status::InvalidArgument("cannot write model file " + path + ": fpgaserve writes llama2.c v1 and v2, not " +
                                   CheckpointFormatName(format));
  }
  if (Status s = CheckView(model); !s.ok()) {
    return Status::InvalidArgument("cannot write model file " + path + ": " + s.message());
  }
  return WriteFileAtomically(path, "model file", [&](std::FILE* f) {
    Sink out(f);
    WriteHeader(out, model.config, format);
    WriteBody(out, model, format);
    return out.err();
  });
}

}  // namespace fpgaserve
