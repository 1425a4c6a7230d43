#include "server/model/gguf_writer.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "base/atomic_file.h"
#include "kernel/kernel.h"

namespace fpgaserve {
namespace {

template <typename T>
void Put(std::string& out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  out.append(b, sizeof(T));
}
void PutString(std::string& out, const std::string& s) {
  Put<uint64_t>(out, s.size());
  out += s;
}
uint16_t Fp16(float f) { return kernel::KvFromFloat(f); }
float Fp16Value(float f) { return kernel::KvToFloat(kernel::KvFromFloat(f)); }
uint16_t Bf16(float f) {
  const uint32_t bits = std::bit_cast<uint32_t>(f);
  return static_cast<uint16_t>((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);  // nearest even
}
int Round(float x, int lo, int hi) { return std::clamp(static_cast<int>(std::lrint(x)), lo, hi); }
float MaxAbs(const float* v, size_t n) {
  float m = 0;
  for (size_t i = 0; i < n; i++) m = std::max(m, std::fabs(v[i]));
  return m;
}

void EncodeQ4_0(const float* x, size_t n, std::string& out) {
  for (size_t b = 0; b < n; b += 32, x += 32) {
    const float d = Fp16Value(MaxAbs(x, 32) / 7.0f);
    const float inv = d != 0 ? 1.0f / d : 0.0f;
    Put(out, Fp16(d));
    for (int j = 0; j < 16; j++) {
      const int lo = Round(x[j] * inv, -8, 7) + 8;
      const int hi = Round(x[j + 16] * inv, -8, 7) + 8;
      out += static_cast<char>(lo | hi << 4);
    }
  }
}

// Q4_K (bits 4) and Q5_K (bits 5): per 32-value sub-block x = d * sc * q - dmin * m.
void EncodeQ45_K(int bits, const float* x, size_t n, std::string& out) {
  const int qmax = (1 << bits) - 1;
  for (size_t b = 0; b < n; b += 256, x += 256) {
    float scale[8];
    float min[8];
    for (int s = 0; s < 8; s++) {
      const float* v = x + 32 * s;
      const float lo = std::min(0.0f, *std::min_element(v, v + 32));
      const float hi = *std::max_element(v, v + 32);
      scale[s] = (hi - lo) / static_cast<float>(qmax);
      min[s] = -lo;
    }
    const float d = Fp16Value(*std::max_element(scale, scale + 8) / 63.0f);
    const float dmin = Fp16Value(*std::max_element(min, min + 8) / 63.0f);
    int sc[8];
    int m[8];
    for (int s = 0; s < 8; s++) {
      sc[s] = d != 0 ? Round(scale[s] / d, 0, 63) : 0;
      m[s] = dmin != 0 ? Round(min[s] / dmin, 0, 63) : 0;
    }
    uint8_t packed[12];
    for (int s = 0; s < 4; s++) {
      packed[s] = static_cast<uint8_t>((sc[s] & 63) | (sc[s + 4] >> 4) << 6);
      packed[s + 4] = static_cast<uint8_t>((m[s] & 63) | (m[s + 4] >> 4) << 6);
      packed[s + 8] = static_cast<uint8_t>((sc[s + 4] & 15) | (m[s + 4] & 15) << 4);
    }
    uint8_t qh[32] = {};
    uint8_t qs[128] = {};
    for (int v = 0; v < 256; v++) {
      const int s = v / 32;
      const float step = d * static_cast<float>(sc[s]);
      const int q = step != 0 ? Round((x[v] + dmin * static_cast<float>(m[s])) / step, 0, qmax) : 0;
      const int pair = v / 64;
      const int half = (v % 64) / 32;
      const int l = v % 32;
      qs[32 * pair + l] |= static_cast<uint8_t>((q & 15) << (4 * half));
      if (q & 16) qh[l] |= static_cast<uint8_t>(1 << (2 * pair + half));
    }
    Put(out, Fp16(d));
    Put(out, Fp16(dmin));
    out.append(reinterpret_cast<const char*>(packed), 12);
    if (bits == 5) out.append(reinterpret_cast<const char*>(qh), 32);
    out.append(reinterpret_cast<const char*>(qs), 128);
  }
}

// Q6_K: per 16-value sub-block x = d * sc * (q - 32).
void EncodeQ6_K(const float* x, size_t n, std::string& out) {
  for (size_t b = 0; b < n; b += 256, x += 256) {
    float scale[16];
    for (int s = 0; s < 16; s++) scale[s] = MaxAbs(x + 16 * s, 16) / 31.0f;
    const float d = Fp16Value(*std::max_element(scale, scale + 16) / 127.0f);
    int8_t sc[16];
    for (int s = 0; s < 16; s++) sc[s] = static_cast<int8_t>(d != 0 ? Round(scale[s] / d, -128, 127) : 0);
    uint8_t ql[128] = {};
    uint8_t qh[64] = {};
    for (int v = 0; v < 256; v++) {
      const float step = d * static_cast<float>(sc[v / 16]);
      const int q = (step != 0 ? Round(x[v] / step, -32, 31) : 0) + 32;
      const int h = v / 128;
      const int k = (v % 128) / 32;
      const int l = v % 32;
      ql[64 * h + l + 32 * (k & 1)] |= static_cast<uint8_t>((q & 15) << (k < 2 ? 0 : 4));
      qh[32 * h + l] |= static_cast<uint8_t>((q >> 4) << (2 * k));
    }
    out.append(reinterpret_cast<const char*>(ql), 128);
    out.append(reinterpret_cast<const char*>(qh), 64);
    out.append(reinterpret_cast<const char*>(sc), 16);
    Put(out, Fp16(d));
  }
}

}  // namespace

void GgufBuilder::Uint32(const std::string& key, uint32_t v) {
  std::string s;
  Put<uint32_t>(s, 4);
  Put(s, v);
  kvs_.push_back({key, s});
}
void GgufBuilder::Int32(const std::string& key, int32_t v) {
  std::string s;
  Put<uint32_t>(s, 5);
  Put(s, v);
  kvs_.push_back({key, s});
}
void GgufBuilder::Float32(const std::string& key, float v) {
  std::string s;
  Put<uint32_t>(s, 6);
  Put(s, v);
  kvs_.push_back({key, s});
}
void GgufBuilder::Bool(const std::string& key, bool v) {
  std::string s;
  Put<uint32_t>(s, 7);
  Put<uint8_t>(s, v ? 1 : 0);
  kvs_.push_back({key, s});
}
void GgufBuilder::String(const std::string& key, const std::string& v) {
  std::string s;
  Put<uint32_t>(s, 8);
  PutString(s, v);
  kvs_.push_back({key, s});
}
void GgufBuilder::StringArray(const std::string& key, const std::vector<std::string>& v) {
  std::string s;
  Put<uint32_t>(s, 9);
  Put<uint32_t>(s, 8);
  Put<uint64_t>(s, v.size());
  for (const std::string& e : v) PutString(s, e);
  kvs_.push_back({key, s});
}
void GgufBuilder::Float32Array(const std::string& key, const std::vector<float>& v) {
  std::string s;
  Put<uint32_t>(s, 9);
  Put<uint32_t>(s, 6);
  Put<uint64_t>(s, v.size());
  for (float e : v) Put(s, e);
  kvs_.push_back({key, s});
}
void GgufBuilder::Int32Array(const std::string& key, const std::vector<int32_t>& v) {
  std::string s;
  Put<uint32_t>(s, 9);
  Put<uint32_t>(s, 5);
  Put<uint64_t>(s, v.size());
  for (int32_t e : v) Put(s, e);
  kvs_.push_back({key, s});
}
void GgufBuilder::NestedStringArray(const std::string& key, const std::vector<std::vector<std::string>>& v) {
  std::string s;
  Put<uint32_t>(s, 9);
  Put<uint32_t>(s, 9);
  Put<uint64_t>(s, v.size());
  for (const auto& inner : v) {
    Put<uint32_t>(s, 8);
    Put<uint64_t>(s, inner.size());
    for (const std::string& e : inner) PutString(s, e);
  }
  kvs_.push_back({key, s});
}
void GgufBuilder::Erase(const std::string& key) {
  std::erase_if(kvs_, [&](const Kv& kv) { return kv.key == key; });
}

GgufBuilder::Tensor& GgufBuilder::AddTensor(const std::string& name, std::vector<uint64_t> dims, GgmlType type,
                                            std::string data) {
  Tensor& t = tensors_.emplace_back();
  t.name = name;
  t.dims = std::move(dims);
  t.type = static_cast<uint32_t>(type);
  t.data = std::move(data);
  return t;
}
GgufBuilder::Tensor* GgufBuilder::FindTensor(const std::string& name) {
  for (Tensor& t : tensors_) {
    if (t.name == name) return &t;
  }
  return nullptr;
}
void GgufBuilder::EraseTensor(const std::string& name) {
  std::erase_if(tensors_, [&](const Tensor& t) { return t.name == name; });
}

std::string GgufBuilder::Build() {
  auto align = [&](uint64_t x) { return (x + alignment - 1) / alignment * alignment; };
  std::vector<Kv> kvs = kvs_;
  if (alignment != 32 || write_alignment) {
    std::string s;
    Put<uint32_t>(s, 4);
    Put(s, static_cast<uint32_t>(alignment));
    kvs.push_back({"general.alignment", s});
  }
  std::string out = "GGUF";
  Put(out, version);
  Put<uint64_t>(out, tensors_.size());
  Put<uint64_t>(out, kvs.size());
  for (const Kv& kv : kvs) {
    key_pos[kv.key] = out.size();
    PutString(out, kv.key);
    value_pos[kv.key] = out.size();
    out += kv.typed_value;
  }
  std::vector<uint64_t> offsets;
  uint64_t next = 0;
  for (const Tensor& t : tensors_) {
    offsets.push_back(t.override_offset ? t.offset_override : next);
    next = align(next + t.data.size());
  }
  for (size_t i = 0; i < tensors_.size(); i++) {
    const Tensor& t = tensors_[i];
    tensor_info_pos[t.name] = out.size();
    PutString(out, t.name);
    Put<uint32_t>(out, static_cast<uint32_t>(t.dims.size()));
    tensor_dims_pos[t.name] = out.size();
    for (uint64_t d : t.dims) Put(out, d);
    Put(out, t.type);
    tensor_offset_pos[t.name] = out.size();
    Put(out, offsets[i]);
  }
  const size_t data_start = align(out.size());
  out.resize(data_start, '\0');
  uint64_t at = 0;
  for (const Tensor& t : tensors_) {
    out.resize(data_start + at, '\0');
    out += t.data;
    at = align(at + t.data.size());
  }
  return out;
}

std::string EncodeTensor(GgmlType type, const float* values, size_t n) {
  std::string out;
  switch (type) {
    case GgmlType::kF32: out.assign(reinterpret_cast<const char*>(values), n * sizeof(float)); break;
    case GgmlType::kF16:
      for (size_t i = 0; i < n; i++) Put(out, Fp16(values[i]));
      break;
    case GgmlType::kBF16:
      for (size_t i = 0; i < n; i++) Put(out, Bf16(values[i]));
      break;
    case GgmlType::kQ8_0:
      for (size_t b = 0; b < n; b += 32) {
        const float d = Fp16Value(MaxAbs(values + b, 32) / 127.0f);
        Put(out, Fp16(d));
        for (int j = 0; j < 32; j++) out += static_cast<char>(d != 0 ? Round(values[b + j] / d, -127, 127) : 0);
      }
      break;
    case GgmlType::kQ4_0: EncodeQ4_0(values, n, out); break;
    case GgmlType::kQ4_K: EncodeQ45_K(4, values, n, out); break;
    case GgmlType::kQ5_K: EncodeQ45_K(5, values, n, out); break;
    case GgmlType::kQ6_K: EncodeQ6_K(values, n, out); break;
    default: break;
  }
  return out;
}

std::string EncodeQ8_0(const int8_t* q, const float* s, size_t n) {
  std::string out;
  for (size_t b = 0; b < n / 32; b++) {
    Put(out, Fp16(s[b]));
    out.append(reinterpret_cast<const char*>(q + 32 * b), 32);
  }
  return out;
}

void SetSentencePieceVocabulary(GgufBuilder& b, const std::vector<std::string>& tokens,
                                const std::vector<float>& scores, const std::vector<int32_t>& types) {
  for (const char* key : {"tokenizer.ggml.model", "tokenizer.ggml.tokens", "tokenizer.ggml.scores",
                          "tokenizer.ggml.token_type", "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id"}) {
    b.Erase(key);
  }
  b.String("tokenizer.ggml.model", "llama");
  b.StringArray("tokenizer.ggml.tokens", tokens);
  b.Float32Array("tokenizer.ggml.scores", scores);
  b.Int32Array("tokenizer.ggml.token_type", types);
  b.Uint32("tokenizer.ggml.bos_token_id", 1);
  b.Uint32("tokenizer.ggml.eos_token_id", 2);
}

GgufBuilder ModelToGguf(const ModelView& model, const GgufModelOptions& options) {
  const ModelConfig& c = model.config;
  GgufBuilder b;
  b.String("general.architecture", "llama");
  b.String("general.name", "test model");
  b.Uint32("llama.context_length", static_cast<uint32_t>(c.seq_len));
  b.Uint32("llama.embedding_length", static_cast<uint32_t>(c.dim));
  b.Uint32("llama.block_count", static_cast<uint32_t>(c.n_layers));
  b.Uint32("llama.feed_forward_length", static_cast<uint32_t>(c.hidden_dim));
  b.Uint32("llama.rope.dimension_count", static_cast<uint32_t>(c.head_size()));
  b.Uint32("llama.attention.head_count", static_cast<uint32_t>(c.n_heads));
  b.Uint32("llama.attention.head_count_kv", static_cast<uint32_t>(c.n_kv_heads));
  b.Float32("llama.attention.layer_norm_rms_epsilon", c.rms_eps);
  b.Float32("llama.rope.freq_base", c.rope_theta);
  if (c.rope_scaling.kind == RopeScaling::kLinear) {
    b.String("llama.rope.scaling.type", "linear");
    b.Float32("llama.rope.scaling.factor", c.rope_scaling.factor);
  }
  if (c.rope_scaling.kind != RopeScaling::kNone && c.rope_scaling.original_context > 0) {
    b.Uint32("llama.rope.scaling.original_context_length", static_cast<uint32_t>(c.rope_scaling.original_context));
  }
  b.Uint32("general.quantization_version", 2);
  if (options.tokenizer && options.gguf_vocabulary != nullptr) {
    AddVocabulary(b, *options.gguf_vocabulary);
  } else if (options.tokenizer) {
    std::vector<std::string> tokens;
    std::vector<float> scores;
    std::vector<int32_t> types;
    for (int i = 0; i < c.vocab_size; i++) {
      // Ids 0-2 are spelled as SentencePiece files spell them (llama2.c's export writes BOS and EOS as
      // "\n<s>\n" and "\n</s>\n"); types as llama.cpp reads them: 2 unknown, 3 control, 6 byte, 1 normal.
      if (i < 3) {
        tokens.push_back(i == 0 ? "<unk>" : i == 1 ? "<s>" : "</s>");
      } else if (options.vocabulary != nullptr) {
        std::string piece;
        for (char ch : options.vocabulary->Piece(i))
          piece += ch == ' ' ? std::string("\xe2\x96\x81") : std::string(1, ch);
        tokens.push_back(piece);
      } else {
        tokens.push_back("tok" + std::to_string(i));
      }
      scores.push_back(options.vocabulary != nullptr ? options.vocabulary->Score(i) : -static_cast<float>(i));
      const bool byte = options.vocabulary != nullptr && options.vocabulary->IsByteToken(i);
      types.push_back(i == 0 ? 2 : i < 3 ? 3 : byte ? 6 : 1);
    }
    SetSentencePieceVocabulary(b, tokens, scores, types);
  }
  auto matrix = [&](const std::string& name, const MatrixView& m) {
    const size_t n = static_cast<size_t>(m.rows) * static_cast<size_t>(m.cols);
    std::vector<uint64_t> dims = {static_cast<uint64_t>(m.cols), static_cast<uint64_t>(m.rows)};
    if (m.quantized()) {
      b.AddTensor(name, dims, GgmlType::kQ8_0, EncodeQ8_0(m.q, m.s, n));
    } else {
      b.AddTensor(name, dims, options.matrix_type, EncodeTensor(options.matrix_type, m.f32, n));
    }
  };
  auto norm = [&](const std::string& name, const float* v) {
    b.AddTensor(name, {static_cast<uint64_t>(c.dim)}, options.norm_type,
                EncodeTensor(options.norm_type, v, static_cast<size_t>(c.dim)));
  };
  if (c.rope_scaling.kind == RopeScaling::kPerFrequency) {
    const int pairs = c.head_size() / 2;
    b.AddTensor("rope_freqs.weight", {static_cast<uint64_t>(pairs)}, GgmlType::kF32,
                EncodeTensor(GgmlType::kF32, c.rope_scaling.divisors, static_cast<size_t>(pairs)));
  }
  matrix("token_embd.weight", model.token_embedding);
  for (int l = 0; l < c.n_layers; l++) {
    const LayerView& layer = model.layers[static_cast<size_t>(l)];
    const std::string p = "blk." + std::to_string(l) + ".";
    norm(p + "attn_norm.weight", layer.rms_att);
    matrix(p + "attn_q.weight", layer.wq);
    matrix(p + "attn_k.weight", layer.wk);
    matrix(p + "attn_v.weight", layer.wv);
    matrix(p + "attn_output.weight", layer.wo);
    norm(p + "ffn_norm.weight", layer.rms_ffn);
    matrix(p + "ffn_gate.weight", layer.w1);
    matrix(p + "ffn_down.weight", layer.w2);
    matrix(p + "ffn_up.weight", layer.w3);
  }
  norm("output_norm.weight", model.rms_final);
  if (!c.shared_classifier) matrix("output.weight", model.classifier);
  return b;
}

}  // namespace fpgaserve

namespace fpgaserve {

void AddVocabulary(GgufBuilder& b, const GgufVocabulary& v) {
  b.String("tokenizer.ggml.model", v.model);
  if (!v.pre.empty()) b.String("tokenizer.ggml.pre", v.pre);
  b.StringArray("tokenizer.ggml.tokens", v.tokens);
  b.Int32Array("tokenizer.ggml.token_type", v.token_types);
  b.StringArray("tokenizer.ggml.merges", v.merges);
  const std::pair<const char*, int> ids[] = {{"tokenizer.ggml.bos_token_id", v.bos},
                                             {"tokenizer.ggml.eos_token_id", v.eos},
                                             {"tokenizer.ggml.eot_token_id", v.eot},
                                             {"tokenizer.ggml.eom_token_id", v.eom},
                                             {"tokenizer.ggml.unknown_token_id", v.unk},
                                             {"tokenizer.ggml.padding_token_id", v.pad}};
  for (const auto& [key, id] : ids) {
    if (id >= 0) b.Uint32(key, static_cast<uint32_t>(id));
  }
  b.Bool("tokenizer.ggml.add_bos_token", v.add_bos);
  b.Bool("tokenizer.ggml.add_eos_token", v.add_eos);
  if (!v.chat_template.empty()) b.String("tokenizer.chat_template", v.chat_template);
}

Status WriteGgufFile(GgufBuilder& b, const std::string& path) {
  const std::string bytes = b.Build();
  return WriteFileAtomically(path, "GGUF file", [&](std::FILE* f) {
    return std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size() ? 0 : (errno != 0 ? errno : EIO);
  });
}

}  // namespace fpgaserve
