#include "server/model/gguf_model.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>
#include <map>
#include <sstream>

#include <spdlog/spdlog.h>

#include "base/log_line.h"
#include "server/model/checkpoint.h"

namespace fpgaserve {
namespace {

std::string Str(uint64_t v) { return std::to_string(v); }
// A float as written in a message: 0.5, 1e+30 (Str would convert it to an integer: undefined past 2^64).
std::string FloatStr(float v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

std::string Dims(const std::vector<uint64_t>& dims) {
  std::string s = "{";
  for (size_t i = 0; i < dims.size(); i++) s += (i ? ", " : "") + Str(dims[i]);
  return s + "}";
}

// The first non-finite value of `n`, or -1.
int64_t FirstNonFinite(const float* v, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (!std::isfinite(v[i])) return static_cast<int64_t>(i);
  }
  return -1;
}

bool IsFloatType(GgmlType t) { return t == GgmlType::kF32 || t == GgmlType::kF16 || t == GgmlType::kBF16; }

std::string LayerTensor(int layer, const char* name) { return "blk." + std::to_string(layer) + "." + name; }

}  // namespace

Result<std::unique_ptr<GgufModel>> GgufModel::Open(const std::string& path) {
  auto file = GgufFile::Open(path);
  if (!file.ok()) return file.status();
  std::unique_ptr<GgufModel> m(new GgufModel());
  m->file_ = std::move(file.value());
  m->what_ = "model file " + path + " (GGUF)";
  if (Status s = m->Load(); !s.ok()) return s;
  return m;
}

Status GgufModel::LoadConfig() {
  const GgufFile& f = *file_;
  ModelConfig& c = view_.config;
  const GgufValue* arch = f.Find("general.architecture");
  if (arch == nullptr || arch->type != GgufValueType::kString) {
    return Status::InvalidArgument(what_ + " has no general.architecture string");
  }
  if (arch->str != "llama") {
    return Status::InvalidArgument(what_ + " has architecture \"" + arch->str +
                                   "\"; fpgaserve runs only architecture \"llama\"");
  }
  // An integer hyperparameter in [1, INT_MAX]; `fallback` < 0 means required.
  auto integer = [&](const std::string& key, int fallback, int* out) -> Status {
    const GgufValue* v = f.Find(key);
    if (v == nullptr) {
      if (fallback >= 0) {
        *out = fallback;
        return Status::Ok();
      }
      return Status::InvalidArgument(what_ + " lacks the metadata " + key);
    }
    int64_t x = 0;
    if (!v->ToInt(1, INT_MAX, &x)) {
      return Status::InvalidArgument(what_ + " has " + key + " = " + v->Summary() + " (" + GgufValueTypeName(v->type) +
                                     "); a positive integer below 2^31 is expected");
    }
    *out = static_cast<int>(x);
    return Status::Ok();
  };
  auto real = [&](const std::string& key, float fallback, float* out) -> Status {
    const GgufValue* v = f.Find(key);
    double x = fallback;
    if (v != nullptr && !v->ToFloat(&x)) {
      return Status::InvalidArgument(what_ + " has " + key + " of type " + GgufValueTypeName(v->type) +
                                     "; a float32 is expected");
    }
    if (!std::isfinite(x) || x <= 0) {
      return Status::InvalidArgument(what_ + " has " + key + " = " + std::to_string(x) + "; it must be positive");
    }
    *out = static_cast<float>(x);
    return Status::Ok();
  };
  const std::pair<const char*, int*> required[] = {{"llama.embedding_length", &c.dim},
                                                   {"llama.feed_forward_length", &c.hidden_dim},
                                                   {"llama.block_count", &c.n_layers},
                                                   {"llama.attention.head_count", &c.n_heads},
                                                   {"llama.context_length", &c.seq_len}};
  for (const auto& [key, field] : required) {
    if (Status s = integer(key, -1, field); !s.ok()) return s;
  }
  if (Status s = integer("llama.attention.head_count_kv", c.n_heads, &c.n_kv_heads); !s.ok()) return s;
  if (Status s = real("llama.rope.freq_base", 10000.0f, &c.rope_theta); !s.ok()) return s;
  if (Status s = real("llama.attention.layer_norm_rms_epsilon", 1e-5f, &c.rms_eps); !s.ok()) return s;

  // The vocabulary is the token embedding's row count.
  const GgufTensorInfo* embd = f.FindTensor("token_embd.weight");
  if (embd == nullptr) return Status::InvalidArgument(what_ + " has no tensor token_embd.weight");
  if (embd->dims.size() != 2 || embd->dims[1] > INT_MAX) {
    return Status::InvalidArgument(what_ + " has token_embd.weight of shape " + Dims(embd->dims) +
                                   "; {dim, vocab} expected");
  }
  c.vocab_size = static_cast<int>(embd->dims[1]);
  int vocab_key = 0;
  if (Status s = integer("llama.vocab_size", c.vocab_size, &vocab_key); !s.ok()) return s;
  if (vocab_key != c.vocab_size) {
    return Status::InvalidArgument(what_ + " has llama.vocab_size " + Str(vocab_key) + " but token_embd.weight has " +
                                   Str(c.vocab_size) + " rows");
  }
  if (const GgufValue* tokens = f.Find("tokenizer.ggml.tokens")) {
    if (tokens->type != GgufValueType::kArray || tokens->array.size() != static_cast<size_t>(c.vocab_size)) {
      return Status::InvalidArgument(what_ + " has tokenizer.ggml.tokens " + tokens->Summary() +
                                     " but token_embd.weight has " + Str(c.vocab_size) + " rows");
    }
  }
  c.shared_classifier = f.FindTensor("output.weight") == nullptr;

  // Q8_0 tensors are kept with their group size 32: the packer then quantizes every fp32 matrix with it.
  bool any_q8 = false;
  for (const GgufTensorInfo& t : f.tensors()) any_q8 = any_q8 || t.type == GgmlType::kQ8_0;
  c.group_size = any_q8 ? 32 : (c.dim > 0 && c.hidden_dim > 0 ? DefaultGroupSizeFor(c.dim, c.hidden_dim) : 1);

  // Each layer has 9 tensors; checking this first keeps an absurd block_count from costing memory.
  if (static_cast<uint64_t>(c.n_layers) > f.tensors().size() / 9) {
    return Status::InvalidArgument(what_ + " has llama.block_count " + Str(c.n_layers) + " but only " +
                                   Str(f.tensors().size()) + " tensors (9 per layer are needed)");
  }
  if (Status s = ValidateModelConfig(c); !s.ok()) {
    return Status::InvalidArgument(what_ + " has a bad llama configuration: " + s.message());
  }
  const int head_size = c.head_size();
  for (const char* key : {"llama.rope.dimension_count", "llama.attention.key_length", "llama.attention.value_length"}) {
    int v = 0;
    if (Status s = integer(key, head_size, &v); !s.ok()) return s;
    if (v != head_size) {
      return Status::InvalidArgument(what_ + " has " + key + " " + Str(v) + ", not head_size " + Str(head_size) +
                                     " (dim / n_heads): fpgaserve's kernel supports only full-width heads and RoPE");
    }
  }

  // RoPE scaling: linear scaling from the metadata, or Llama 3.1's per-frequency divisors (the converter
  // evaluates the "llama3" rule into rope_freqs.weight); other kinds (YaRN, LongRoPE) are refused.
  RopeScaling& rs = c.rope_scaling;
  const GgufValue* type = f.Find("llama.rope.scaling.type");
  const std::string kind = type != nullptr && type->type == GgufValueType::kString ? type->str : "";
  if (!kind.empty() && kind != "none" && kind != "linear") {
    return Status::InvalidArgument(what_ + " uses RoPE scaling of type '" + kind +
                                   "'; fpgaserve computes none, linear and Llama 3.1's per-frequency scaling");
  }
  if (kind == "linear" || (kind.empty() && f.Find("llama.rope.scaling.factor") != nullptr)) {
    if (Status s = real("llama.rope.scaling.factor", 1.0f, &rs.factor); !s.ok()) return s;
    if (!(rs.factor >= 1.0f) || rs.factor > 1e6f) {
      return Status::InvalidArgument(what_ + " has llama.rope.scaling.factor " + FloatStr(rs.factor) +
                                     ", not between 1 and 1e6");
    }
    if (rs.factor != 1.0f) rs.kind = RopeScaling::kLinear;
  }
  if (const GgufTensorInfo* freqs = f.FindTensor("rope_freqs.weight")) {
    const uint64_t pairs = static_cast<uint64_t>(head_size / 2);
    if (freqs->type != GgmlType::kF32 || freqs->dims.size() != 1 || freqs->dims[0] != pairs ||
        pairs > static_cast<uint64_t>(RopeScaling::kMaxPairs)) {
      return Status::InvalidArgument(what_ + " has rope_freqs.weight of type " + GgmlTypeName(freqs->type) +
                                     " and shape " + Dims(freqs->dims) + "; F32 {head_size / 2} expected");
    }
    if (rs.kind == RopeScaling::kLinear) {
      return Status::InvalidArgument(what_ + " has both linear RoPE scaling and rope_freqs.weight");
    }
    std::vector<float> divisors(freqs->dims[0]);
    std::memcpy(divisors.data(), freqs->data, divisors.size() * sizeof(float));
    for (float d : divisors) {
      if (!(d >= 1e-6f && d <= 1e6f)) {
        return Status::InvalidArgument(what_ + " has rope_freqs.weight value " + FloatStr(d) +
                                       ", not a finite divisor between 1e-6 and 1e6");
      }
    }
    const float largest = *std::max_element(divisors.begin(), divisors.end());
    bool all_one = true;
    for (size_t i = 0; i < divisors.size(); i++) {
      rs.divisors[i] = divisors[i];
      all_one = all_one && divisors[i] == 1.0f;
    }
    if (!all_one) {
      rs.kind = RopeScaling::kPerFrequency;
      rs.factor = largest;
    }
  }
  if (rs.active()) {
    if (Status s = integer("llama.rope.scaling.original_context_length", 0, &rs.original_context); !s.ok()) return s;
  }
  return Status::Ok();
}

Result<const GgufTensorInfo*> GgufModel::Tensor(const std::string& name, const std::vector<uint64_t>& dims) {
  const GgufTensorInfo* t = file_->FindTensor(name);
  if (t == nullptr) return Status::InvalidArgument(what_ + " lacks the tensor " + name);
  if (t->dims != dims) {
    return Status::InvalidArgument(what_ + " has tensor " + name + " of shape " + Dims(t->dims) +
                                   ", but the metadata implies " + Dims(dims) + " (GGUF lists the row length first)");
  }
  return t;
}

const float* GgufModel::OwnFloats(std::vector<float> values) {
  floats_.push_back(std::move(values));
  return floats_.back().data();
}

Status GgufModel::LoadVector(const std::string& name, int n, const float** out) {
  auto t = Tensor(name, {static_cast<uint64_t>(n)});
  if (!t.ok()) return t.status();
  const GgufTensorInfo& info = *t.value();
  if (!IsFloatType(info.type)) {
    return Status::InvalidArgument(what_ + " has norm " + name + " of type " + GgmlTypeName(info.type) +
                                   "; norms must be F32, F16 or BF16");
  }
  std::vector<float> values(static_cast<size_t>(n));
  DequantizeRow(info.type, info.data, values.size(), values.data());
  if (FirstNonFinite(values.data(), values.size()) >= 0) {
    return Status::InvalidArgument(what_ + " has a non-finite value (NaN or infinity) in " + name);
  }
  *out = OwnFloats(std::move(values));
  return Status::Ok();
}

Status GgufModel::LoadMatrix(const std::string& name, int rows, int cols, MatrixView* m) {
  auto t = Tensor(name, {static_cast<uint64_t>(cols), static_cast<uint64_t>(rows)});
  if (!t.ok()) return t.status();
  const GgufTensorInfo& info = *t.value();
  const size_t n = static_cast<size_t>(rows) * static_cast<size_t>(cols);
  m->rows = rows;
  m->cols = cols;
  auto non_finite = [&]() {
    return Status::InvalidArgument(what_ + " has a non-finite value (NaN or infinity) in " + name +
                                   ": the file is damaged");
  };
  if (info.type == GgmlType::kQ8_0) {
    // Blocks of 34 bytes: fp16 scale, 32 int8 values. Split into our q and s (group size 32).
    const size_t blocks = n / 32;
    std::vector<int8_t>& q = int8s_.emplace_back(n);
    std::vector<float> s(blocks);
    for (size_t b = 0; b < blocks; b++) {
      const uint8_t* block = info.data + 34 * b;
      s[b] = Fp16ToFloat(static_cast<uint16_t>(block[0] | block[1] << 8));
      std::memcpy(q.data() + 32 * b, block + 2, 32);
    }
    if (FirstNonFinite(s.data(), s.size()) >= 0) return non_finite();
    m->q = q.data();
    m->s = OwnFloats(std::move(s));
    return Status::Ok();
  }
  if (info.type == GgmlType::kF32 && reinterpret_cast<uintptr_t>(info.data) % alignof(float) == 0) {
    m->f32 = reinterpret_cast<const float*>(info.data);
    return FirstNonFinite(m->f32, n) >= 0 ? non_finite() : Status::Ok();
  }
  if (!CanDequantize(info.type)) {
    return Status::InvalidArgument(what_ + " has tensor " + name + " of type " + GgmlTypeName(info.type) +
                                   ", which fpgaserve cannot read (it reads F32, F16, BF16, Q8_0, Q4_0, Q4_K, "
                                   "Q5_K and Q6_K)");
  }
  std::vector<float> values(n);
  DequantizeRow(info.type, info.data, n, values.data());
  if (FirstNonFinite(values.data(), n) >= 0) return non_finite();
  if (!IsFloatType(info.type)) dequantized_++;
  m->f32 = OwnFloats(std::move(values));
  return Status::Ok();
}

Status GgufModel::Load() {
  if (Status s = LoadConfig(); !s.ok()) return s;
  const ModelConfig& c = view_.config;
  if (Status s = LoadMatrix("token_embd.weight", c.vocab_size, c.dim, &view_.token_embedding); !s.ok()) return s;
  view_.layers.resize(static_cast<size_t>(c.n_layers));  // n_layers <= tensors / 9 (LoadConfig)
  for (int l = 0; l < c.n_layers; l++) {
    LayerView& layer = view_.layers[static_cast<size_t>(l)];
    const struct {
      const char* name;
      MatrixView* m;
      int rows;
      int cols;
    } matrices[] = {{"attn_q.weight", &layer.wq, c.dim, c.dim},
                    {"attn_k.weight", &layer.wk, c.kv_dim(), c.dim},
                    {"attn_v.weight", &layer.wv, c.kv_dim(), c.dim},
                    {"attn_output.weight", &layer.wo, c.dim, c.dim},
                    {"ffn_gate.weight", &layer.w1, c.hidden_dim, c.dim},
                    {"ffn_down.weight", &layer.w2, c.dim, c.hidden_dim},
                    {"ffn_up.weight", &layer.w3, c.hidden_dim, c.dim}};
    if (Status s = LoadVector(LayerTensor(l, "attn_norm.weight"), c.dim, &layer.rms_att); !s.ok()) return s;
    if (Status s = LoadVector(LayerTensor(l, "ffn_norm.weight"), c.dim, &layer.rms_ffn); !s.ok()) return s;
    for (const auto& m : matrices) {
      if (Status s = LoadMatrix(LayerTensor(l, m.name), m.rows, m.cols, m.m); !s.ok()) return s;
    }
  }
  if (Status s = LoadVector("output_norm.weight", c.dim, &view_.rms_final); !s.ok()) return s;
  if (c.shared_classifier) {
    view_.classifier = view_.token_embedding;
  } else if (Status s = LoadMatrix("output.weight", c.vocab_size, c.dim, &view_.classifier); !s.ok()) {
    return s;
  }
  if (dequantized_ > 0) {
    // The card runs them requantized to Q8_0.
    spdlog::info(LogLine("dequantized 4-6 bit tensors to fp32", {{"file", file_->path()}, {"tensors", dequantized_}}));
  }
  return Status::Ok();
}

std::string GgufModel::Describe() const {
  const ModelConfig& c = view_.config;
  const GgufFile& f = *file_;
  std::ostringstream s;
  auto text = [&](const char* key) {
    const GgufValue* v = f.Find(key);
    return v != nullptr && v->type == GgufValueType::kString ? v->str : std::string("(none)");
  };
  s << f.path() << "\n";
  s << "  format      GGUF v" << f.version() << ", alignment " << f.alignment() << ", " << f.metadata().size()
    << " metadata keys, " << f.tensors().size() << " tensors\n";
  s << "  name        " << text("general.name") << "\n";
  s << "  arch        " << text("general.architecture") << "\n";
  s << "  shape       dim " << c.dim << ", hidden_dim " << c.hidden_dim << ", n_layers " << c.n_layers << ", n_heads "
    << c.n_heads << ", n_kv_heads " << c.n_kv_heads << ", vocab_size " << c.vocab_size << ", seq_len " << c.seq_len
    << "\n";
  s << "  derived     head_size " << c.head_size() << ", kv_dim " << c.kv_dim()
    << (c.n_kv_heads < c.n_heads ? " (grouped-query attention)" : "") << "\n";
  s << "  math        rope_theta " << c.rope_theta << ", rms_eps " << c.rms_eps << ", rope scaling ";
  if (c.rope_scaling.active()) {
    s << (c.rope_scaling.kind == RopeScaling::kLinear ? "linear, factor "
                                                      : "per frequency (rope_freqs), largest divisor ")
      << c.rope_scaling.factor << " (original context " << c.rope_scaling.original_context << ")\n";
  } else {
    s << "none\n";
  }
  std::map<std::string, int> types;
  for (const GgufTensorInfo& t : f.tensors()) types[GgmlTypeName(t.type)]++;
  s << "  types      ";
  for (const auto& [name, count] : types) s << " " << name << " x" << count;
  s << " (Q8_0 kept as it is; the card gets other matrices as Q8_0 with group size " << c.group_size << ")\n";
  s << "  classifier  " << (c.shared_classifier ? "shared with the token embedding" : "its own weights") << "\n";
  s << "  tokenizer   " << text("tokenizer.ggml.model");
  if (const GgufValue* bos = f.Find("tokenizer.ggml.bos_token_id")) s << ", bos " << bos->Summary();
  if (const GgufValue* eos = f.Find("tokenizer.ggml.eos_token_id")) s << ", eos " << eos->Summary();
  s << (f.Find("tokenizer.chat_template") != nullptr ? ", with a chat template" : "") << "\n";
  const uint64_t params = ParameterCount(c);
  s.setf(std::ios::fixed);
  s.precision(1);
  s << "  parameters  " << params << " (" << static_cast<double>(params) / 1e6 << "M)\n";
  s << "  size        " << f.file_bytes() << " bytes\n";
  return s.str();
}

std::string GgufModel::DescribeMetadata() const {
  std::string s = "  metadata\n";
  for (const auto& [key, value] : file_->metadata()) {
    s += "    " + key + " (" + GgufValueTypeName(value.type) + ") = " + value.Summary() + "\n";
  }
  return s;
}

}  // namespace fpgaserve
