#include "server/model/checkpoint.h"

#include <bit>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstring>
#include <sstream>

#include "fpga/q8_0.h"
#include "server/model/mapped_file.h"

namespace fpgaserve {

// The formats are little-endian and we read them in place.
static_assert(std::endian::native == std::endian::little, "checkpoint.cpp reads little-endian files in place");

namespace {

constexpr uint32_t kMagic = 0x616b3432;    // "ak42" in hex digits; on disk the bytes 32 34 6b 61, "24ka"
constexpr uint64_t kV0HeaderBytes = 28;    // 7 int32
constexpr uint64_t kHeaderBytes = 256;     // v1, v2
constexpr uint64_t kParamsOffset = 8;      // after magic and version
constexpr uint64_t kSharedOffset = 36;     // uint8 shared_classifier
constexpr uint64_t kGroupSizeOffset = 37;  // v2: int32, unaligned

int32_t ReadInt32(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof v);  // may be unaligned (the group size is)
  return v;
}

std::string Shape(const ModelConfig& c) {
  std::ostringstream s;
  s << "dim " << c.dim << ", hidden_dim " << c.hidden_dim << ", n_layers " << c.n_layers << ", n_heads " << c.n_heads
    << ", n_kv_heads " << c.n_kv_heads << ", vocab_size " << c.vocab_size << ", seq_len " << c.seq_len;
  return s.str();
}

std::string HumanBytes(uint64_t bytes) {
  std::ostringstream s;
  s << bytes << " bytes";
  if (bytes >= (1u << 20)) {
    s.setf(std::ios::fixed);
    s.precision(1);
    s << " (" << static_cast<double>(bytes) / (1 << 20) << " MiB)";
  }
  return s.str();
}

// Walks the tensors of a file in file order, handing out their addresses. Offsets use checked 64-bit
// arithmetic; an address is handed out only when its tensor lies wholly inside the file, nullptr
// otherwise. Nothing is dereferenced here: the caller checks overflow() and end() against the file size
// before it uses any address.
class Walker {
 public:
  // A walker that does not `record` only sizes the file: it hands out no addresses.
  Walker(const uint8_t* base, uint64_t size, uint64_t start, bool record)
      : base_(base), size_(size), offset_(start), record_(record) {}

  const uint8_t* Take(uint64_t count, uint64_t element_bytes) {
    uint64_t bytes = 0;
    uint64_t end = 0;
    if (overflow_ || __builtin_mul_overflow(count, element_bytes, &bytes) ||
        __builtin_mul_overflow(bytes, repeat_, &bytes) || __builtin_add_overflow(offset_, bytes, &end)) {
      overflow_ = true;
      return nullptr;
    }
    const uint64_t start = offset_;
    offset_ = end;
    return end <= size_ ? base_ + start : nullptr;
  }

  // fp32 values are resolved later (they may need realigning, see Checkpoint::AlignedFloats).
  void Floats(const float** slot, uint64_t count) {
    const uint8_t* p = Take(count, 4);
    if (record_) pending_.push_back({slot, p, count});
  }
  void Int8s(const int8_t** slot, uint64_t count) {
    const uint8_t* p = Take(count, 1);
    if (record_) *slot = reinterpret_cast<const int8_t*>(p);
  }

  // While sizing, one call of Take stands for `n` consecutive tensors of that size (one per layer), so a
  // header's absurd n_layers costs no time.
  void set_repeat(uint64_t n) { repeat_ = n; }

  bool overflow() const { return overflow_; }
  uint64_t end() const { return offset_; }

  struct PendingFloats {
    const float** slot;
    const uint8_t* bytes;
    uint64_t count;
  };
  const std::vector<PendingFloats>& pending() const { return pending_; }

 private:
  const uint8_t* base_;
  uint64_t size_;
  uint64_t offset_;
  bool record_;
  uint64_t repeat_ = 1;
  bool overflow_ = false;
  std::vector<PendingFloats> pending_;
};

// The per-layer matrices and their shapes, in file order.
struct LayerMatrix {
  MatrixView LayerView::*field;
  int rows;
  int cols;
};
std::vector<LayerMatrix> LayerMatrices(const ModelConfig& c) {
  return {{&LayerView::wq, c.dim, c.dim},        {&LayerView::wk, c.kv_dim(), c.dim},
          {&LayerView::wv, c.kv_dim(), c.dim},   {&LayerView::wo, c.dim, c.dim},
          {&LayerView::w1, c.hidden_dim, c.dim}, {&LayerView::w2, c.dim, c.hidden_dim},
          {&LayerView::w3, c.hidden_dim, c.dim}};
}

// Lays out every tensor of `format` on the walker, filling `view`. When `sizing`, `view.layers` holds
// one layer that stands for all of them and the walker repeats each per-layer tensor n_layers times (so
// that an absurd n_layers from a header is refused before anything of its size is allocated or looped
// over); otherwise `view.layers` holds c.n_layers layers.
void WalkTensors(CheckpointFormat format, const ModelConfig& c, bool sizing, Walker& w, ModelView& view) {
  const uint64_t dim = static_cast<uint64_t>(c.dim);
  const bool q8 = format == CheckpointFormat::kV2Q8;
  auto matrix = [&](MatrixView& m, int rows, int cols) {
    m.rows = rows;
    m.cols = cols;
    const uint64_t n = static_cast<uint64_t>(rows) * static_cast<uint64_t>(cols);  // < 2^62
    if (q8) {
      w.Int8s(&m.q, n);
      w.Floats(&m.s, n / static_cast<uint64_t>(c.group_size));
    } else {
      w.Floats(&m.f32, n);
    }
  };
  const size_t layers = sizing ? 1 : static_cast<size_t>(c.n_layers);
  auto per_layer = [&](auto&& take) {
    if (sizing) w.set_repeat(static_cast<uint64_t>(c.n_layers));
    for (size_t l = 0; l < layers; l++) take(view.layers[l]);
    w.set_repeat(1);
  };
  auto norms = [&](const float* LayerView::*field) {
    per_layer([&](LayerView& layer) { w.Floats(&(layer.*field), dim); });
  };
  auto layer_matrix = [&](const LayerMatrix& lm) {
    per_layer([&](LayerView& layer) { matrix(layer.*lm.field, lm.rows, lm.cols); });
  };
  const std::vector<LayerMatrix> lms = LayerMatrices(c);

  if (format == CheckpointFormat::kV0Legacy) {
    // Attention block, then FFN block, each tensor for all layers before the next.
    matrix(view.token_embedding, c.vocab_size, c.dim);
    norms(&LayerView::rms_att);
    for (int i = 0; i < 4; i++) layer_matrix(lms[i]);  // wq wk wv wo
    norms(&LayerView::rms_ffn);
    for (int i = 4; i < 7; i++) layer_matrix(lms[i]);  // w1 w2 w3
    w.Floats(&view.rms_final, dim);
    // freq_cis_real and freq_cis_imag, (seq_len, head_size / 2) each: RoPE is computed, not read.
    const uint64_t freq = static_cast<uint64_t>(c.seq_len) * static_cast<uint64_t>(c.head_size() / 2);
    w.Take(freq, 4);
    w.Take(freq, 4);
  } else {
    // Norms first (fp32 in both versions), then the matrices.
    norms(&LayerView::rms_att);
    norms(&LayerView::rms_ffn);
    w.Floats(&view.rms_final, dim);
    matrix(view.token_embedding, c.vocab_size, c.dim);
    for (const LayerMatrix& lm : lms) layer_matrix(lm);
  }
  if (!c.shared_classifier) matrix(view.classifier, c.vocab_size, c.dim);
}

// The header: format and config. `size` >= 1.
Result<ModelConfig> ParseHeader(const uint8_t* p, uint64_t size, CheckpointFormat* format) {
  if (size < 4) {
    return Status::InvalidArgument("is too short to be a model file (" + std::to_string(size) + " bytes)");
  }
  ModelConfig c;
  const bool versioned = static_cast<uint32_t>(ReadInt32(p)) == kMagic;
  if (!versioned) {
    // v0 has no magic: its first word is dim.
    *format = CheckpointFormat::kV0Legacy;
    if (size < kV0HeaderBytes) {
      return Status::InvalidArgument("has a truncated header: " + std::to_string(size) +
                                     " bytes, a llama2.c v0 header has 28 (and no \"ak42\" magic was found)");
    }
    c.dim = ReadInt32(p + 0);
    c.hidden_dim = ReadInt32(p + 4);
    c.n_layers = ReadInt32(p + 8);
    c.n_heads = ReadInt32(p + 12);
    c.n_kv_heads = ReadInt32(p + 16);
    const int32_t vocab = ReadInt32(p + 20);
    c.seq_len = ReadInt32(p + 24);
    // A negative vocab size is v0's flag for an unshared classifier.
    if (vocab == INT32_MIN) return Status::InvalidArgument("has vocab_size " + std::to_string(vocab));
    c.shared_classifier = vocab > 0;
    c.vocab_size = vocab < 0 ? -vocab : vocab;
    c.group_size = c.dim > 0 && c.hidden_dim > 0 ? DefaultGroupSizeFor(c.dim, c.hidden_dim) : 1;
    return c;
  }
  if (size < kHeaderBytes) {
    return Status::InvalidArgument("has a truncated header: " + std::to_string(size) +
                                   " bytes, a llama2.c v1/v2 header has 256");
  }
  const int32_t version = ReadInt32(p + 4);
  if (version != 1 && version != 2) {
    return Status::InvalidArgument("has checkpoint version " + std::to_string(version) +
                                   "; fpgaserve reads llama2.c versions 0, 1 and 2");
  }
  *format = version == 1 ? CheckpointFormat::kV1Float : CheckpointFormat::kV2Q8;
  const uint8_t* q = p + kParamsOffset;
  c.dim = ReadInt32(q + 0);
  c.hidden_dim = ReadInt32(q + 4);
  c.n_layers = ReadInt32(q + 8);
  c.n_heads = ReadInt32(q + 12);
  c.n_kv_heads = ReadInt32(q + 16);
  c.vocab_size = ReadInt32(q + 20);
  c.seq_len = ReadInt32(q + 24);
  const uint8_t shared = p[kSharedOffset];
  // export.py writes int(bool); anything else means the header is not what we think it is.
  if (shared > 1) {
    return Status::InvalidArgument("has shared_classifier byte " + std::to_string(shared) + " (expected 0 or 1)");
  }
  c.shared_classifier = shared == 1;
  if (version == 2) {
    c.group_size = ReadInt32(p + kGroupSizeOffset);
  } else {
    c.group_size = c.dim > 0 && c.hidden_dim > 0 ? DefaultGroupSizeFor(c.dim, c.hidden_dim) : 1;
  }
  return c;
}

}  // namespace

const char* CheckpointFormatName(CheckpointFormat format) {
  switch (format) {
    case CheckpointFormat::kV0Legacy: return "v0";
    case CheckpointFormat::kV1Float: return "v1";
    case CheckpointFormat::kV2Q8: return "v2";
  }
  return "unknown";
}

Status ValidateModelConfig(const ModelConfig& c) {
  const std::pair<const char*, int> dims[] = {
      {"dim", c.dim},         {"hidden_dim", c.hidden_dim}, {"n_layers", c.n_layers},
      {"n_heads", c.n_heads}, {"n_kv_heads", c.n_kv_heads}, {"vocab_size", c.vocab_size},
      {"seq_len", c.seq_len}};
  for (const auto& [name, value] : dims) {
    if (value <= 0) {
      return Status::InvalidArgument(std::string(name) + " is " + std::to_string(value) +
                                     "; every dimension must be positive");
    }
  }
  auto str = [](int v) { return std::to_string(v); };
  if (c.dim % c.n_heads != 0) {
    return Status::InvalidArgument("n_heads " + str(c.n_heads) + " does not divide dim " + str(c.dim));
  }
  if (c.n_kv_heads > c.n_heads) {
    return Status::InvalidArgument("n_kv_heads " + str(c.n_kv_heads) + " exceeds n_heads " + str(c.n_heads));
  }
  if (c.n_heads % c.n_kv_heads != 0) {
    return Status::InvalidArgument("n_kv_heads " + str(c.n_kv_heads) + " does not divide n_heads " + str(c.n_heads));
  }
  if (c.head_size() % 2 != 0) {
    return Status::InvalidArgument("head_size " + str(c.head_size()) + " (dim " + str(c.dim) + " / n_heads " +
                                   str(c.n_heads) + ") is odd; RoPE rotates pairs of values");
  }
  if (c.group_size <= 0) {
    return Status::InvalidArgument("group_size is " + str(c.group_size) + "; it must be positive");
  }
  for (const auto& [name, value] : {std::pair<const char*, int>{"dim", c.dim}, {"hidden_dim", c.hidden_dim}}) {
    if (value % c.group_size != 0) {
      return Status::InvalidArgument("group_size " + str(c.group_size) + " does not divide " + name + " " + str(value) +
                                     " (Q8_0 groups may not straddle matrix rows; quantize again with a "
                                     "group size that divides both dim and hidden_dim)");
    }
  }
  return Status::Ok();
}

int DefaultGroupSizeFor(int dim, int hidden_dim) {
  int gs = DefaultGroupSize(dim);
  while (gs > 1 && hidden_dim % gs != 0) gs /= 2;
  return gs;
}

uint64_t ParameterCount(const ModelConfig& c) {
  const uint64_t dim = static_cast<uint64_t>(c.dim);
  const uint64_t hidden = static_cast<uint64_t>(c.hidden_dim);
  const uint64_t kv_dim = static_cast<uint64_t>(c.kv_dim());
  const uint64_t vocab = static_cast<uint64_t>(c.vocab_size);
  const uint64_t per_layer = 2 * dim              // rms_att, rms_ffn
                             + 2 * dim * dim      // wq, wo
                             + 2 * kv_dim * dim   // wk, wv
                             + 3 * hidden * dim;  // w1, w2, w3
  return vocab * dim + static_cast<uint64_t>(c.n_layers) * per_layer + dim + (c.shared_classifier ? 0 : vocab * dim);
}

Result<std::unique_ptr<Checkpoint>> Checkpoint::Open(const std::string& path) {
  const std::string what = "model file " + path;
  Result<std::unique_ptr<MappedFile>> mapped = MappedFile::Open(path);
  if (!mapped.ok()) return mapped.status();
  std::unique_ptr<Checkpoint> ckpt(new Checkpoint());
  ckpt->path_ = path;
  ckpt->file_ = std::move(mapped.value());
  ckpt->file_bytes_ = ckpt->file_->size();

  const uint8_t* base = ckpt->file_->data();
  const uint64_t size = ckpt->file_bytes_;
  Result<ModelConfig> config = ParseHeader(base, size, &ckpt->format_);
  if (!config.ok()) return Status::InvalidArgument(what + " " + config.status().message());
  const ModelConfig& c = config.value();
  const char* version = CheckpointFormatName(ckpt->format_);
  if (Status s = ValidateModelConfig(c); !s.ok()) {
    // A v0 file is whatever lacks the magic, so say so: a wrong magic shows up as a nonsensical v0 header.
    const std::string label = ckpt->format_ == CheckpointFormat::kV0Legacy ? "llama2.c v0, as it has no \"ak42\" magic"
                                                                           : "llama2.c " + std::string(version);
    return Status::InvalidArgument(what + " (" + label + ") has a bad header: " + s.message());
  }

  // Size the file first, with one stand-in layer; then, only when the size is right, lay it out for real.
  const uint64_t start = ckpt->format_ == CheckpointFormat::kV0Legacy ? kV0HeaderBytes : kHeaderBytes;
  ModelView sizing;
  sizing.layers.resize(1);
  Walker sizer(base, size, start, /*record=*/false);
  WalkTensors(ckpt->format_, c, /*sizing=*/true, sizer, sizing);
  const std::string header = "the llama2.c " + std::string(version) + " header (" + Shape(c) + ")";
  if (sizer.overflow()) {
    return Status::InvalidArgument(what + ": " + header + " implies more than 2^64 bytes of weights");
  }
  const uint64_t expected = sizer.end();
  if (size < expected) {
    return Status::InvalidArgument(what + " is truncated: " + header + " implies " + std::to_string(expected) +
                                   " bytes, the file has " + std::to_string(size));
  }
  if (size > expected) {
    return Status::InvalidArgument(what + " has " + std::to_string(size - expected) + " trailing bytes: " + header +
                                   " implies " + std::to_string(expected) + " bytes, the file has " +
                                   std::to_string(size) + " (a wrong shape or a wrong format)");
  }
  ModelView& view = ckpt->view_;
  view.config = c;
  view.layers.resize(static_cast<size_t>(c.n_layers));  // at most size / (8 * dim): the norms alone take that
  Walker walker(base, size, start, /*record=*/true);
  WalkTensors(ckpt->format_, c, /*sizing=*/false, walker, view);
  // Every tensor lies inside the file: resolve the fp32 addresses.
  for (const Walker::PendingFloats& p : walker.pending()) *p.slot = ckpt->AlignedFloats(p.bytes, p.count);
  // A NaN or infinity in a weight, a norm or a Q8_0 scale would turn every logit into NaN without any
  // error; refuse the file instead. One pass over the fp32 values (the Q8_0 values cannot be non-finite).
  for (const Walker::PendingFloats& p : walker.pending()) {
    const float* values = *p.slot;
    for (uint64_t i = 0; i < p.count; i++) {
      if (!std::isfinite(values[i])) {
        return Status::InvalidArgument(what + " holds a non-finite fp32 value (NaN or infinity) at byte " +
                                       std::to_string(static_cast<uint64_t>(p.bytes - base) + 4 * i) +
                                       ": the file is damaged");
      }
    }
  }
  if (c.shared_classifier) view.classifier = view.token_embedding;
  return ckpt;
}

Checkpoint::~Checkpoint() = default;

const float* Checkpoint::AlignedFloats(const uint8_t* p, uint64_t count) {
  if (reinterpret_cast<uintptr_t>(p) % alignof(float) == 0) return reinterpret_cast<const float*>(p);
  std::vector<float>& copy = realigned_.emplace_back(static_cast<size_t>(count));
  std::memcpy(copy.data(), p, static_cast<size_t>(count) * sizeof(float));
  return copy.data();
}

std::string Checkpoint::Describe() const {
  const ModelConfig& c = view_.config;
  std::ostringstream s;
  s << path_ << "\n";
  s << "  format      llama2.c " << CheckpointFormatName(format_);
  switch (format_) {
    case CheckpointFormat::kV0Legacy: s << " (legacy, fp32"; break;
    case CheckpointFormat::kV1Float: s << " (fp32"; break;
    case CheckpointFormat::kV2Q8: s << " (Q8_0"; break;
  }
  s << ", group size " << c.group_size << (format_ == CheckpointFormat::kV2Q8 ? ")" : " when quantized)") << "\n";
  s << "  shape       " << Shape(c) << "\n";
  s << "  derived     head_size " << c.head_size() << ", kv_dim " << c.kv_dim()
    << (c.n_kv_heads < c.n_heads ? " (grouped-query attention)" : "") << "\n";
  s << "  classifier  " << (c.shared_classifier ? "shared with the token embedding" : "its own weights") << "\n";
  const uint64_t params = ParameterCount(c);
  s.setf(std::ios::fixed);
  s.precision(1);
  s << "  parameters  " << params << " (" << static_cast<double>(params) / 1e6 << "M)\n";
  s << "  size        " << HumanBytes(file_bytes_) << "\n";
  return s.str();
}

}  // namespace fpgaserve
