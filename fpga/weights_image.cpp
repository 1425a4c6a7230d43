#include "fpga/weights_image.h"

#include <sys/mman.h>

#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include "base/memory_check.h"
#include "fpga/q8_0.h"

namespace fpgaserve {
namespace {

using kernel::kMemPorts;

// One tensor of the image: a Q8_0 matrix split over the banks, or an fp32 vector stored in every bank.
struct Placed {
  const MatrixView* matrix = nullptr;  // or
  const float* vector = nullptr;
  int64_t offset = 0;
};

Status CheckMatrix(const MatrixView& m, int rows, int cols, const char* name) {
  if (m.f32 == nullptr && (m.q == nullptr || m.s == nullptr)) {
    return Status::InvalidArgument(std::string("the model has no ") + name + " weights");
  }
  if (m.rows != rows || m.cols != cols) {
    return Status::InvalidArgument(std::string(name) + " is " + std::to_string(m.rows) + "x" + std::to_string(m.cols) +
                                   ", expected " + std::to_string(rows) + "x" + std::to_string(cols));
  }
  return Status::Ok();
}

// Writes m as tiles (layout in kernel.h), tile t into port t / tpb, quantizing fp32 rows. Padding rows
// stay zero, values and scales, so their dots are zero and nobody reads them.
void WriteMatrix(const MatrixView& m, int gs, int64_t at, const std::vector<uint8_t*>& banks) {
  const int tpb = kernel::TilesPerPort(m.rows);
  const int groups = m.cols / gs;
  const int64_t tile_bytes = kernel::Q8TileBytes(m.cols, gs);
  std::vector<int8_t> q(m.cols);
  std::vector<float> s(groups);
  for (int i = 0; i < m.rows; i++) {
    const int t = i / kernel::kTileRows, j = i % kernel::kTileRows;
    uint8_t* tile = banks[t / tpb] + at + (t % tpb) * tile_bytes;
    const int8_t* qi;
    const float* si;
    if (m.quantized()) {
      qi = m.q + static_cast<int64_t>(i) * m.cols;
      si = m.s + static_cast<int64_t>(i) * groups;
    } else {
      QuantizeQ8_0(m.f32 + static_cast<int64_t>(i) * m.cols, m.cols, gs, q.data(), s.data());
      qi = q.data();
      si = s.data();
    }
    for (int g = 0; g < groups; g++) {
      uint8_t* beats = tile + g * kernel::Q8GroupBytes(gs);
      for (int k = 0; k < gs; k += kernel::kTileBeatValues) {
        std::memcpy(beats + k / kernel::kTileBeatValues * kernel::kImageAlign + j * kernel::kTileBeatValues,
                    qi + g * gs + k, kernel::kTileBeatValues);
      }
      std::memcpy(beats + kernel::Q8ScalesAt(gs) + j * 4, si + g, 4);
    }
  }
}

}  // namespace

Result<std::shared_ptr<const WeightsImage>> WeightsImage::Pack(const ModelView& model) {
  try {
    return PackUnfenced(model);
  } catch (const std::bad_alloc&) {
    return Status::ResourceExhausted("packing the model's weights image ran out of memory (" +
                                     FormatBytes(AvailableMemoryBytes().value_or(0)) + " available now)");
  }
}

Result<std::shared_ptr<const WeightsImage>> WeightsImage::PackUnfenced(const ModelView& model) {
  const ModelConfig& c = model.config;
  if (c.dim <= 0 || c.hidden_dim <= 0 || c.n_layers <= 0 || c.n_heads <= 0 || c.n_kv_heads <= 0 || c.vocab_size <= 0 ||
      c.seq_len <= 0 || c.group_size <= 0 || c.dim % c.n_heads != 0 || c.n_heads % c.n_kv_heads != 0 ||
      c.dim % c.group_size != 0 || c.hidden_dim % c.group_size != 0) {
    return Status::InvalidArgument("the model's shape is inconsistent");
  }
  if (static_cast<int>(model.layers.size()) != c.n_layers) {
    return Status::InvalidArgument("the model view has " + std::to_string(model.layers.size()) +
                                   " layers, its config says " + std::to_string(c.n_layers));
  }
  if (model.rms_final == nullptr) return Status::InvalidArgument("the model has no final norm weights");

  // Lay out every tensor: header and offset table first, then tensors in table order.
  const int n_tensors = kernel::TensorCount(c.n_layers);
  std::vector<Placed> placed(n_tensors);
  placed[kernel::kTokenEmbedding].matrix = &model.token_embedding;
  placed[kernel::kRmsFinal].vector = model.rms_final;
  placed[kernel::kClassifier].matrix = &model.classifier;
  Status st = CheckMatrix(model.token_embedding, c.vocab_size, c.dim, "token embedding");
  if (st.ok() && !c.shared_classifier) st = CheckMatrix(model.classifier, c.vocab_size, c.dim, "classifier");
  const int kv_dim = c.kv_dim();
  for (int l = 0; l < c.n_layers && st.ok(); l++) {
    const LayerView& L = model.layers[l];
    if (L.rms_att == nullptr || L.rms_ffn == nullptr) {
      return Status::InvalidArgument("layer " + std::to_string(l) + " has no norm weights");
    }
    struct {
      const MatrixView* m;
      int t, rows, cols;
      const char* name;
    } mats[] = {{&L.wq, kernel::kWq, c.dim, c.dim, "wq"},        {&L.wk, kernel::kWk, kv_dim, c.dim, "wk"},
                {&L.wv, kernel::kWv, kv_dim, c.dim, "wv"},       {&L.wo, kernel::kWo, c.dim, c.dim, "wo"},
                {&L.w1, kernel::kW1, c.hidden_dim, c.dim, "w1"}, {&L.w2, kernel::kW2, c.dim, c.hidden_dim, "w2"},
                {&L.w3, kernel::kW3, c.hidden_dim, c.dim, "w3"}};
    for (const auto& m : mats) {
      if (st = CheckMatrix(*m.m, m.rows, m.cols, m.name); !st.ok()) break;
      placed[kernel::TensorId(l, m.t)].matrix = m.m;
    }
    placed[kernel::TensorId(l, kernel::kRmsAtt)].vector = L.rms_att;
    placed[kernel::TensorId(l, kernel::kRmsFfn)].vector = L.rms_ffn;
  }
  if (!st.ok()) return st;

  int64_t at = kernel::AlignUp(kernel::kHeaderBytes + 8 * static_cast<int64_t>(n_tensors));
  for (int id = 0; id < n_tensors; id++) {
    if (id == kernel::kClassifier && c.shared_classifier) {
      placed[id].offset = placed[kernel::kTokenEmbedding].offset;
      continue;
    }
    placed[id].offset = at;
    at += placed[id].matrix ? kernel::Q8PortBytes(placed[id].matrix->rows, placed[id].matrix->cols, c.group_size)
                            : kernel::AlignUp(static_cast<int64_t>(c.dim) * 4);
  }

  constexpr size_t kHugePage = 2 << 20;
  const size_t alloc = (static_cast<size_t>(at) + kHugePage - 1) / kHugePage * kHugePage;
  // Every byte of the image is written (memset, then the tensors): it must fit in memory now.
  if (Status fits = CheckMemory("the model's weights image (" + std::to_string(kMemPorts) + " parts)",
                                CheckedMultiply(alloc, kMemPorts), AvailableMemoryBytes(), "serve a smaller model");
      !fits.ok()) {
    return fits;
  }
  std::shared_ptr<WeightsImage> image(new WeightsImage());
  image->config_ = c;
  std::vector<uint8_t*> bank_ptrs;
  for (int b = 0; b < kMemPorts; b++) {
    auto& bank = image->owned_[b];
    bank.reset(static_cast<uint8_t*>(std::aligned_alloc(kHugePage, alloc)));
    if (!bank) throw std::bad_alloc();
    madvise(bank.get(), alloc, MADV_HUGEPAGE);  // advice only: without THP the image works the same
    std::memset(bank.get(), 0, alloc);
    bank_ptrs.push_back(bank.get());
    image->ports_[b] = bank.get();
  }
  image->port_bytes_ = static_cast<uint64_t>(at);
  int32_t eps_bits;
  std::memcpy(&eps_bits, &c.rms_eps, 4);
  const int32_t header[kernel::kHeaderFields] = {static_cast<int32_t>(kernel::kImageMagic),
                                                 kernel::kImageVersion,
                                                 kMemPorts,
                                                 c.dim,
                                                 c.hidden_dim,
                                                 c.n_layers,
                                                 c.n_heads,
                                                 c.n_kv_heads,
                                                 c.vocab_size,
                                                 c.seq_len,
                                                 c.group_size,
                                                 eps_bits};
  for (uint8_t* bank : bank_ptrs) {
    std::memcpy(bank, header, sizeof header);
    for (int id = 0; id < n_tensors; id++) {
      std::memcpy(bank + kernel::kHeaderBytes + 8 * id, &placed[id].offset, 8);
    }
  }
  for (int id = 0; id < n_tensors; id++) {
    if (id == kernel::kClassifier && c.shared_classifier) continue;
    if (placed[id].matrix) {
      WriteMatrix(*placed[id].matrix, c.group_size, placed[id].offset, bank_ptrs);
    } else {
      for (uint8_t* bank : bank_ptrs) std::memcpy(bank + placed[id].offset, placed[id].vector, c.dim * 4);
    }
  }
  return std::shared_ptr<const WeightsImage>(std::move(image));
}

void WeightsImage::Free::operator()(uint8_t* p) const { std::free(p); }

}  // namespace fpgaserve
