// GGUF: files written from our random models open to the same weights (exactly for F32 and Q8_0, within
// rounding for F16/BF16, within the quantization step for Q4_0/Q4_K/Q5_K/Q6_K), give the kernel the same
// logits as the same weights in a llama2.c checkpoint, and every malformed file is refused with a message
// that names it and its defect, never a crash or a read past the end.
#include "server/model/gguf.h"

#include <unistd.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fpga/q8_0.h"
#include "fpga/sim_card.h"
#include "kernel/kernel.h"
#include "server/model/bundled_model.h"
#include "server/model/checkpoint_writer.h"
#include "server/model/float_reference.h"
#include "server/model/gguf_model.h"
#include "server/model/gguf_writer.h"
#include "server/model/loaded_model.h"
#include "server/model/random_model.h"
#include "support/byte_level_vocabulary.h"
#include "support/test_support.h"

namespace fpgaserve {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

ModelConfig Tiny(bool shared_classifier = true) {
  ModelConfig c = NamedShape("tiny").value();
  c.shared_classifier = shared_classifier;
  return c;
}

// Small enough that a test can try every prefix of its file; rows of 32 so Q8_0 fits.
ModelConfig Micro() {
  ModelConfig c;
  c.dim = 32;
  c.hidden_dim = 32;
  c.n_layers = 1;
  c.n_heads = 2;
  c.n_kv_heads = 1;
  c.vocab_size = 8;
  c.seq_len = 16;
  c.group_size = 32;
  c.shared_classifier = false;
  return c;
}

// Rows of 256 for the K-quants.
ModelConfig Wide() {
  ModelConfig c;
  c.dim = 256;
  c.hidden_dim = 512;
  c.n_layers = 1;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.vocab_size = 64;
  c.seq_len = 32;
  c.group_size = DefaultGroupSizeFor(256, 512);
  c.shared_classifier = false;
  return c;
}

using testing::Matrices;
using testing::Numel;

std::vector<const float*> Norms(const ModelView& v) {
  std::vector<const float*> out;
  for (const LayerView& l : v.layers) {
    out.push_back(l.rms_att);
    out.push_back(l.rms_ffn);
  }
  out.push_back(v.rms_final);
  return out;
}

// Every value of `got` is within tolerance(want value, tensor max |value|) of `want`'s.
template <typename Tolerance>
void ExpectClose(const ModelView& got, const ModelView& want, Tolerance tolerance, bool norms_exact) {
  EXPECT_EQ(got.config.dim, want.config.dim);
  ASSERT_EQ(got.layers.size(), want.layers.size());
  const auto g = Matrices(got), w = Matrices(want);
  for (size_t i = 0; i < w.size(); i++) {
    ASSERT_EQ(g[i]->rows, w[i]->rows);
    ASSERT_EQ(g[i]->cols, w[i]->cols);
    ASSERT_NE(g[i]->f32, nullptr) << "matrix " << i;
    float max_abs = 0;
    for (size_t k = 0; k < Numel(*w[i]); k++) max_abs = std::max(max_abs, std::fabs(w[i]->f32[k]));
    for (size_t k = 0; k < Numel(*w[i]); k++) {
      ASSERT_LE(std::fabs(g[i]->f32[k] - w[i]->f32[k]), tolerance(w[i]->f32[k], max_abs))
          << "matrix " << i << " value " << k << ": " << g[i]->f32[k] << " vs " << w[i]->f32[k];
    }
  }
  const auto gn = Norms(got), wn = Norms(want);
  for (size_t i = 0; i < wn.size(); i++) {
    for (int k = 0; k < want.config.dim; k++) {
      if (norms_exact) {
        ASSERT_EQ(gn[i][k], wn[i][k]) << "norm " << i;
      } else {
        ASSERT_LE(std::fabs(gn[i][k] - wn[i][k]), tolerance(wn[i][k], 2.0f)) << "norm " << i;
      }
    }
  }
}

std::string Write(const ::fpgaserve::testing::TempDir& dir, const std::string& name, const std::string& bytes) {
  std::string path = dir.file(name);
  EXPECT_TRUE(::fpgaserve::testing::WriteFile(path, bytes));
  return path;
}

template <typename T>
void Patch(std::string& bytes, size_t pos, T value) {
  ASSERT_LE(pos + sizeof(T), bytes.size());
  std::memcpy(bytes.data() + pos, &value, sizeof(T));
}

// Opens `bytes` as a GGUF model and expects a refusal naming the file and containing `what`.
void ExpectRefused(const std::string& bytes, const std::string& what) {
  ::fpgaserve::testing::TempDir dir;
  const std::string path = Write(dir, "bad.gguf", bytes);
  auto m = GgufModel::Open(path);
  ASSERT_FALSE(m.ok()) << "expected a refusal mentioning: " << what;
  EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(m.status().message(), AllOf(HasSubstr(path), HasSubstr(what)));
}

std::string MicroFile(GgmlType type = GgmlType::kF32, GgufBuilder* out = nullptr) {
  RandomModel m = MakeRandomModel(Micro(), 3);
  GgufModelOptions o;
  o.matrix_type = type;
  GgufBuilder b = ModelToGguf(m.view, o);
  std::string bytes = b.Build();
  if (out != nullptr) *out = b;
  return bytes;
}

// ---- Valid files ----

TEST(GgufTest, F32FileOpensToTheSourceWeightsExactly) {
  for (bool shared : {true, false}) {
    RandomModel src = MakeRandomModel(Tiny(shared), 11);
    ::fpgaserve::testing::TempDir dir;
    const std::string path = Write(dir, "m.gguf", ModelToGguf(src.view, {}).Build());
    auto m = GgufModel::Open(path);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    EXPECT_EQ(m.value()->config(), src.view.config) << "shared " << shared;
    ExpectClose(
        m.value()->view(), src.view, [](float, float) { return 0.0f; }, true);
    if (shared) {
      EXPECT_EQ(m.value()->view().classifier.f32, m.value()->view().token_embedding.f32);
    }
  }
}

TEST(GgufTest, MetadataOfEveryKindIsParsed) {
  RandomModel src = MakeRandomModel(Tiny(), 1);
  GgufBuilder b = ModelToGguf(src.view, {});
  b.Bool("test.flag", true);
  b.Int32("test.negative", -5);
  b.NestedStringArray("test.nested", {{"a", "bc"}, {}, {"def"}});
  ::fpgaserve::testing::TempDir dir;
  auto f = GgufFile::Open(Write(dir, "m.gguf", b.Build()));
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  const GgufFile& file = *f.value();
  EXPECT_EQ(file.version(), 3u);
  EXPECT_EQ(file.alignment(), 32u);
  EXPECT_EQ(file.data_offset() % 32, 0u);
  EXPECT_EQ(file.Find("general.architecture")->str, "llama");
  EXPECT_EQ(file.Find("llama.block_count")->u, 2u);
  EXPECT_EQ(file.Find("test.negative")->i, -5);
  EXPECT_TRUE(file.Find("test.flag")->b);
  EXPECT_EQ(file.Find("llama.rope.freq_base")->f, 10000.0);
  const GgufValue* tokens = file.Find("tokenizer.ggml.tokens");
  ASSERT_NE(tokens, nullptr);
  ASSERT_EQ(tokens->array.size(), 512u);
  EXPECT_EQ(tokens->array[1].str, "<s>");
  EXPECT_EQ(file.Find("tokenizer.ggml.scores")->array[7].f, -7.0);
  const GgufValue* nested = file.Find("test.nested");
  ASSERT_NE(nested, nullptr);
  ASSERT_EQ(nested->array.size(), 3u);
  EXPECT_EQ(nested->array[0].array[1].str, "bc");
  EXPECT_TRUE(nested->array[1].array.empty());
  EXPECT_EQ(nested->array[2].array[0].str, "def");
  EXPECT_EQ(file.Find("no.such.key"), nullptr);
  const GgufTensorInfo* t = file.FindTensor("blk.1.attn_k.weight");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->dims, (std::vector<uint64_t>{64, 32}));
  EXPECT_EQ(t->bytes, 64u * 32u * 4u);
}

TEST(GgufTest, Version2AndOtherAlignmentsAreRead) {
  RandomModel src = MakeRandomModel(Tiny(false), 2);
  for (uint64_t alignment : {uint64_t{1}, uint64_t{2}, uint64_t{64}, uint64_t{4096}}) {
    GgufBuilder b = ModelToGguf(src.view, {});
    b.version = 2;
    b.alignment = alignment;
    ::fpgaserve::testing::TempDir dir;
    auto m = GgufModel::Open(Write(dir, "m.gguf", b.Build()));
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    EXPECT_EQ(m.value()->file().alignment(), alignment);
    ExpectClose(
        m.value()->view(), src.view, [](float, float) { return 0.0f; }, true);
  }
}

TEST(GgufTest, F16AndBf16AreWithinTheirRounding) {
  RandomModel src = MakeRandomModel(Tiny(false), 5);
  for (auto [type, bits] : {std::pair{GgmlType::kF16, 11}, std::pair{GgmlType::kBF16, 8}}) {
    GgufModelOptions o;
    o.matrix_type = type;
    o.norm_type = type;
    ::fpgaserve::testing::TempDir dir;
    auto m = GgufModel::Open(Write(dir, "m.gguf", ModelToGguf(src.view, o).Build()));
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    const float rel = std::ldexp(1.0f, -bits);  // half an ulp of a `bits`-bit significand
    // F16's smallest normal is 2^-14: below it the step is absolute (2^-24, half of it rounding).
    ExpectClose(
        m.value()->view(), src.view, [&](float w, float) { return std::fabs(w) * rel + std::ldexp(1.0f, -25); }, false);
  }
}

// A Q8_0 model with group size 32 whose scales fp16 holds exactly: GGUF keeps it bit for bit.
RandomModel QuantizedModel(const ModelConfig& config, uint64_t seed, std::vector<int8_t>& q, std::vector<float>& s) {
  RandomModel m = MakeRandomModel(config, seed);
  m.view.config.group_size = 32;
  const auto matrices = Matrices(m.view);
  size_t total = 0;
  for (const MatrixView* mv : matrices) total += Numel(*mv);
  q.resize(total);
  s.resize(total / 32);
  size_t at = 0;
  std::vector<MatrixView*> mutable_matrices = {&m.view.token_embedding};
  for (LayerView& l : m.view.layers) {
    for (MatrixView* mv : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w1, &l.w2, &l.w3}) mutable_matrices.push_back(mv);
  }
  if (!config.shared_classifier) mutable_matrices.push_back(&m.view.classifier);
  for (MatrixView* mv : mutable_matrices) {
    const size_t n = Numel(*mv);
    QuantizeQ8_0(mv->f32, n, 32, q.data() + at, s.data() + at / 32);
    for (size_t g = at / 32; g < (at + n) / 32; g++) s[g] = kernel::KvToFloat(kernel::KvFromFloat(s[g]));
    mv->f32 = nullptr;
    mv->q = q.data() + at;
    mv->s = s.data() + at / 32;
    at += n;
  }
  if (config.shared_classifier) m.view.classifier = m.view.token_embedding;
  return m;
}

TEST(GgufTest, Q8_0IsKeptExactlyWithGroupSize32) {
  for (bool shared : {true, false}) {
    std::vector<int8_t> q;
    std::vector<float> s;
    RandomModel src = QuantizedModel(Tiny(shared), 4, q, s);
    ::fpgaserve::testing::TempDir dir;
    auto m = GgufModel::Open(Write(dir, "m.gguf", ModelToGguf(src.view, {}).Build()));
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    const ModelView& got = m.value()->view();
    EXPECT_EQ(got.config, src.view.config);
    EXPECT_EQ(got.config.group_size, 32);
    const auto g = Matrices(got), w = Matrices(src.view);
    for (size_t i = 0; i < w.size(); i++) {
      ASSERT_TRUE(g[i]->quantized()) << "matrix " << i;
      const size_t n = Numel(*w[i]);
      EXPECT_EQ(std::memcmp(g[i]->q, w[i]->q, n), 0) << "matrix " << i;
      EXPECT_EQ(std::memcmp(g[i]->s, w[i]->s, n / 32 * sizeof(float)), 0) << "matrix " << i;
    }
  }
}

TEST(GgufTest, FourToSixBitTypesAreDequantizedWithinTheirStep) {
  RandomModel src = MakeRandomModel(Wide(), 9);
  // Each encoder's worst error is about half its step: a fraction of the tensor's largest value.
  const std::pair<GgmlType, float> cases[] = {{GgmlType::kQ4_0, 0.5f / 7},
                                              {GgmlType::kQ4_K, 2.0f / 15},
                                              {GgmlType::kQ5_K, 2.0f / 31},
                                              {GgmlType::kQ6_K, 0.8f / 31}};
  for (auto [type, fraction] : cases) {
    GgufModelOptions o;
    o.matrix_type = type;
    ::fpgaserve::testing::TempDir dir;
    auto m = GgufModel::Open(Write(dir, "m.gguf", ModelToGguf(src.view, o).Build()));
    ASSERT_TRUE(m.ok()) << GgmlTypeName(type) << ": " << m.status().ToString();
    SCOPED_TRACE(GgmlTypeName(type));
    const float step = fraction;  // a lambda may capture a structured binding from C++20 on, but not in clang 14
    ExpectClose(
        m.value()->view(), src.view, [&](float, float max_abs) { return max_abs * step * 1.01f; }, true);
  }
}

TEST(GgufTest, Q4_0BlockDecodesToKnownValues) {
  // d = 1 (fp16 0x3c00); byte j holds j in its low nibble, 15 - j in its high one.
  uint8_t block[18] = {0x00, 0x3c};
  for (int j = 0; j < 16; j++) block[2 + j] = static_cast<uint8_t>(j | (15 - j) << 4);
  float out[32];
  DequantizeRow(GgmlType::kQ4_0, block, 32, out);
  for (int j = 0; j < 16; j++) {
    EXPECT_EQ(out[j], static_cast<float>(j - 8));
    EXPECT_EQ(out[j + 16], static_cast<float>(7 - j));
  }
}

TEST(GgufTest, Q6_KBlockDecodesToKnownValues) {
  // d = 0.5; every scale 2 except scale 15 (values 240..255) = -1. Every ql byte holds 1 (low nibble) and
  // 3 (high); every qh byte 0xe4 = 11 10 01 00b gives value 32k + l of a half its top bits k. So the
  // quants of the four quarters of each half are 1, 17, 35, 51, i.e. -31, -15, 3, 19 after the offset 32.
  uint8_t block[210] = {};
  for (int i = 0; i < 128; i++) block[i] = 0x31;
  for (int i = 0; i < 64; i++) block[128 + i] = 0xe4;
  for (int i = 0; i < 16; i++) block[192 + i] = i == 15 ? 0xff : 2;
  block[208] = 0x00;
  block[209] = 0x38;  // fp16 0.5
  float out[256];
  DequantizeRow(GgmlType::kQ6_K, block, 256, out);
  const float quarter[4] = {-31, -15, 3, 19};
  for (int v = 0; v < 256; v++) {
    const float scale = v >= 240 ? -1.0f : 2.0f;
    EXPECT_EQ(out[v], 0.5f * scale * quarter[(v % 128) / 32]) << v;
  }
}

// ---- The same logits as a llama2.c checkpoint of the same weights ----

std::vector<float> Logits(const std::string& path) {
  auto model = LoadedModel::FromFile(path);
  EXPECT_TRUE(model.ok()) << model.status().ToString();
  if (!model.ok()) return {};
  SimCardOptions options;
  options.n_slots = 1;
  auto card = SimCard::Create(model.value()->image(), options);
  EXPECT_TRUE(card.ok()) << card.status().ToString();
  const int vocab = model.value()->config().vocab_size;
  std::vector<float> all;
  for (int pos = 0; pos < 6; pos++) {
    Step step;
    step.entries = {{(pos * 37 + 5) % vocab, pos, 0, 0}};
    step.n_out_rows = 1;
    std::vector<float> logits(static_cast<size_t>(vocab));
    EXPECT_TRUE(card.value()->Run(step, logits.data()).ok());
    all.insert(all.end(), logits.begin(), logits.end());
  }
  return all;
}

TEST(GgufTest, KernelLogitsEqualThoseOfTheSameWeightsAsACheckpoint) {
  for (bool shared : {true, false}) {
    SCOPED_TRACE(shared ? "shared classifier" : "own classifier");
    ::fpgaserve::testing::TempDir dir;
    // fp32: GGUF F32 against llama2.c v1.
    RandomModel f32 = MakeRandomModel(Tiny(shared), 21);
    const std::string f32_gguf = Write(dir, "f32.gguf", ModelToGguf(f32.view, {}).Build());
    ASSERT_TRUE(WriteCheckpoint(f32.view, dir.file("f32.bin"), CheckpointFormat::kV1Float).ok());
    const std::vector<float> want_f32 = Logits(dir.file("f32.bin"));
    ASSERT_FALSE(want_f32.empty());
    EXPECT_EQ(Logits(f32_gguf), want_f32);
    // Q8_0: GGUF Q8_0 against llama2.c v2 with group size 32.
    std::vector<int8_t> q;
    std::vector<float> s;
    RandomModel q8 = QuantizedModel(Tiny(shared), 22, q, s);
    const std::string q8_gguf = Write(dir, "q8.gguf", ModelToGguf(q8.view, {}).Build());
    ASSERT_TRUE(WriteCheckpoint(q8.view, dir.file("q8.bin"), CheckpointFormat::kV2Q8).ok());
    const std::vector<float> want_q8 = Logits(dir.file("q8.bin"));
    ASSERT_FALSE(want_q8.empty());
    EXPECT_EQ(Logits(q8_gguf), want_q8);
  }
}

// A GGUF's RoPE base, RMS epsilon and RoPE scaling reach the card (the image header, the host's rotation
// table): its logits follow the float reference computing with the same values, within the int8 tolerance,
// and differ from those of the same weights with llama2.c's constants.
TEST(GgufTest, ItsRopeBaseEpsilonAndScalingReachTheCard) {
  RandomModel src = MakeRandomModel(Tiny(), 1);
  struct Case {
    const char* name;
    void (*edit)(GgufBuilder&);
    void (*expect)(const ModelConfig&);
  } cases[] = {
      {"theta",
       [](GgufBuilder& b) {
         b.Erase("llama.rope.freq_base");
         b.Float32("llama.rope.freq_base", 500.0f);
       },
       [](const ModelConfig& c) { EXPECT_EQ(c.rope_theta, 500.0f); }},
      {"eps",
       [](GgufBuilder& b) {
         b.Erase("llama.attention.layer_norm_rms_epsilon");
         b.Float32("llama.attention.layer_norm_rms_epsilon", 0.5f);
       },
       [](const ModelConfig& c) { EXPECT_EQ(c.rms_eps, 0.5f); }},
      {"linear",
       [](GgufBuilder& b) {
         b.String("llama.rope.scaling.type", "linear");
         b.Float32("llama.rope.scaling.factor", 4.0f);
       },
       [](const ModelConfig& c) {
         EXPECT_EQ(c.rope_scaling.kind, RopeScaling::kLinear);
         EXPECT_EQ(c.rope_scaling.factor, 4.0f);
       }},
      {"llama3",
       [](GgufBuilder& b) {
         std::vector<float> divisors = {1, 1, 1, 1, 2.5f, 8, 8, 8};  // head size 16: 8 pairs
         b.AddTensor("rope_freqs.weight", {8}, GgmlType::kF32,
                     std::string(reinterpret_cast<const char*>(divisors.data()), 32));
         b.Uint32("llama.rope.scaling.original_context_length", 8192);
       },
       [](const ModelConfig& c) {
         EXPECT_EQ(c.rope_scaling.kind, RopeScaling::kPerFrequency);
         EXPECT_EQ(c.rope_scaling.divisors[4], 2.5f);
         EXPECT_EQ(c.rope_scaling.factor, 8.0f);
         EXPECT_EQ(c.rope_scaling.original_context, 8192);
       }},
  };
  ::fpgaserve::testing::TempDir dir;
  const std::vector<float> plain = Logits(Write(dir, "plain.gguf", ModelToGguf(src.view, {}).Build()));
  const int vocab = Tiny().vocab_size;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    GgufBuilder b = ModelToGguf(src.view, {});
    c.edit(b);
    const std::string path = Write(dir, std::string(c.name) + ".gguf", b.Build());
    auto model = LoadedModel::FromFile(path);
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    c.expect(model.value()->config());
    const std::vector<float> card = Logits(path);
    ASSERT_EQ(card.size(), plain.size());
    EXPECT_NE(card, plain) << "the hyperparameter changed nothing";
    FloatReference ref(model.value()->view());
    float worst = 0, lo = 0, hi = 0;
    for (int pos = 0; pos < 6; pos++) {
      const float* want = ref.Forward((pos * 37 + 5) % vocab, pos);  // Logits()'s tokens
      for (int i = 0; i < vocab; i++) {
        lo = std::min(lo, want[i]);
        hi = std::max(hi, want[i]);
        worst = std::max(worst, std::fabs(card[static_cast<size_t>(pos) * vocab + i] - want[i]));
      }
    }
    EXPECT_LT(worst / (hi - lo), 0.06f) << "against the float reference with the same hyperparameters";
  }
}

TEST(GgufTest, RopeScalingItCannotComputeIsRefused) {
  RandomModel src = MakeRandomModel(Tiny(), 1);
  GgufBuilder b = ModelToGguf(src.view, {});
  b.String("llama.rope.scaling.type", "yarn");
  b.Float32("llama.rope.scaling.factor", 4.0f);
  ::fpgaserve::testing::TempDir dir;
  const std::string path = Write(dir, "yarn.gguf", b.Build());
  auto m = LoadedModel::FromFile(path);
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(m.status().message(), AllOf(HasSubstr(path), HasSubstr("RoPE scaling of type 'yarn'")));
}

// The refusal names the factor as the file has it: a float, not the integer it would convert to (0 for 0.5,
// and undefined behaviour past 2^64; clang-tidy's bugprone-narrowing-conversions found the conversion).
TEST(GgufTest, RopeScalingFactorOutOfRangeIsRefusedWithItsValue) {
  RandomModel src = MakeRandomModel(Tiny(), 1);
  ::fpgaserve::testing::TempDir dir;
  for (float factor : {0.5f, 1e30f}) {
    GgufBuilder b = ModelToGguf(src.view, {});
    b.String("llama.rope.scaling.type", "linear");
    b.Float32("llama.rope.scaling.factor", factor);
    const std::string path = Write(dir, "factor.gguf", b.Build());
    auto m = LoadedModel::FromFile(path);
    ASSERT_FALSE(m.ok()) << factor;
    EXPECT_THAT(m.status().message(),
                HasSubstr("llama.rope.scaling.factor " + std::string(factor > 1 ? "1e+30" : "0.5")));
  }
}

// ---- Malformed files ----

TEST(GgufTest, EveryPrefixOfAValidFileIsRefused) {
  for (GgmlType type : {GgmlType::kF32, GgmlType::kQ8_0}) {
    const std::string bytes = MicroFile(type);
    ::fpgaserve::testing::TempDir dir;
    const std::string path = Write(dir, "prefix.gguf", bytes);
    ASSERT_TRUE(GgufModel::Open(path).ok());
    // Shrinking one file a byte at a time gives every prefix without writing each one.
    for (size_t n = bytes.size(); n-- > 0;) {
      ASSERT_EQ(::truncate(path.c_str(), static_cast<off_t>(n)), 0);
      auto m = GgufModel::Open(path);
      ASSERT_FALSE(m.ok()) << "a prefix of " << n << " of " << bytes.size() << " bytes opened";
      ASSERT_THAT(m.status().message(), HasSubstr(path)) << n;
      if (n > 0) {
        ASSERT_THAT(m.status().message(), HasSubstr("truncated")) << n;
      }
    }
  }
}

// Random damage to the header, metadata and tensor table: every result is a clean refusal or a model (a
// byte of a name or a float may change harmlessly); under the sanitizers this also shows no read is out of
// bounds.
TEST(GgufTest, RandomlyDamagedFilesNeverCrash) {
  GgufBuilder b;
  const std::string bytes = MicroFile(GgmlType::kQ8_0, &b);
  size_t tables_end = 0;  // the end of the last tensor info's offset field
  for (const auto& [name, pos] : b.tensor_offset_pos) tables_end = std::max(tables_end, pos + 8);
  std::mt19937_64 rng(12345);
  ::fpgaserve::testing::TempDir dir;
  const std::string path = dir.file("damaged.gguf");
  int refused = 0;
  for (int trial = 0; trial < 2000; trial++) {
    std::string damaged = bytes;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; f++) {
      const size_t at = rng() % tables_end;
      // Mostly small changes (a count off by a little), sometimes a byte of all ones or a random byte.
      switch (rng() % 3) {
        case 0: damaged[at] = static_cast<char>(damaged[at] + 1 + static_cast<int>(rng() % 3)); break;
        case 1: damaged[at] = static_cast<char>(0xff); break;
        default: damaged[at] = static_cast<char>(rng()); break;
      }
    }
    ASSERT_TRUE(::fpgaserve::testing::WriteFile(path, damaged));
    auto m = GgufModel::Open(path);
    if (!m.ok()) {
      refused++;
      ASSERT_THAT(m.status().message(), HasSubstr(path)) << "trial " << trial;
    }
  }
  EXPECT_GT(refused, 1000) << "most damage to the tables should be caught";
}

TEST(GgufTest, BadMagicAndVersionsAreRefused) {
  std::string bytes = MicroFile();
  std::string magic = bytes;
  magic[3] = 'X';
  ExpectRefused(magic, "GGUF magic");
  for (uint32_t version : {0u, 1u, 4u, 0x03000000u}) {
    std::string v = bytes;
    Patch<uint32_t>(v, 4, version);
    ExpectRefused(v, "version " + std::to_string(version));
  }
}

TEST(GgufTest, UnknownTypesAreRefused) {
  GgufBuilder b;
  const std::string bytes = MicroFile(GgmlType::kF32, &b);
  std::string kv = bytes;
  Patch<uint32_t>(kv, b.value_pos.at("general.name"), 13);
  ExpectRefused(kv, "metadata general.name of unknown type 13");
  std::string element = bytes;
  Patch<uint32_t>(element, b.value_pos.at("tokenizer.ggml.scores") + 4, 99);
  ExpectRefused(element, "unknown element type 99");
  std::string tensor = bytes;
  Patch<uint32_t>(tensor, b.tensor_offset_pos.at("blk.0.attn_q.weight") - 4, 4);  // Q4_2, removed
  ExpectRefused(tensor, "tensor blk.0.attn_q.weight of unknown tensor type 4");
  // A known type that the model mapping does not decode.
  GgufBuilder q8;
  std::string unsupported = MicroFile(GgmlType::kQ8_0, &q8);
  Patch<uint32_t>(unsupported, q8.tensor_offset_pos.at("blk.0.ffn_up.weight") - 4, 7);  // Q5_1: 24-byte blocks
  ExpectRefused(unsupported, "blk.0.ffn_up.weight of type Q5_1, which fpgaserve cannot read");
  std::string bf = bytes;
  bf[b.value_pos.at("general.name")] = 7;  // a bool now: the string length's low byte is 10
  ExpectRefused(bf, "bool general.name with byte 10");
}

TEST(GgufTest, AbsurdCountsAndLengthsAreRefused) {
  GgufBuilder b;
  const std::string bytes = MicroFile(GgmlType::kF32, &b);
  const uint64_t huge[] = {uint64_t{1} << 40, uint64_t{1} << 62, UINT64_MAX};
  for (uint64_t n : huge) {
    std::string t = bytes;
    Patch<uint64_t>(t, b.tensor_count_pos, n);
    ExpectRefused(t, "claims " + std::to_string(n) + " tensors");
    std::string k = bytes;
    Patch<uint64_t>(k, b.kv_count_pos, n);
    ExpectRefused(k, "claims " + std::to_string(n) + " metadata entries");
    std::string key = bytes;
    Patch<uint64_t>(key, b.key_pos.at("general.name"), n);
    ExpectRefused(key, "the key of metadata entry 1 of " + std::to_string(n) + " bytes");
    std::string str = bytes;
    Patch<uint64_t>(str, b.value_pos.at("general.name") + 4, n);
    ExpectRefused(str, "string general.name of length " + std::to_string(n));
    std::string arr = bytes;
    Patch<uint64_t>(arr, b.value_pos.at("tokenizer.ggml.tokens") + 8, n);
    ExpectRefused(arr, "array tokenizer.ggml.tokens at byte");
    std::string name = bytes;
    Patch<uint64_t>(name, b.tensor_info_pos.at("output.weight"), n);
    ExpectRefused(name, "the name of tensor info");
    std::string dim = bytes;
    Patch<uint64_t>(dim, b.tensor_dims_pos.at("output.weight") + 8, n);
    ExpectRefused(dim, "output.weight");
  }
  std::string dims = bytes;
  Patch<uint32_t>(dims, b.tensor_dims_pos.at("output.weight") - 4, 5);
  ExpectRefused(dims, "tensor output.weight with 5 dimensions");
  std::string zero = bytes;
  Patch<uint64_t>(zero, b.tensor_dims_pos.at("output.weight"), 0);
  ExpectRefused(zero, "tensor output.weight with dimension 0 = 0");
  // A count that the file could hold but no real file has.
  std::string many = bytes;
  Patch<uint64_t>(many, b.value_pos.at("tokenizer.ggml.scores") + 8, GgufFile::kMaxArrayElements + 1);
  ExpectRefused(many, "array tokenizer.ggml.scores");
}

TEST(GgufTest, DeeplyNestedArraysAreRefused) {
  GgufBuilder b;
  MicroFile(GgmlType::kF32, &b);
  // Arrays of arrays ... of one uint8, deeper than the limit.
  b.Erase("test.nested");
  std::string deep = b.Build();
  // Splice a deep value in by hand: replace the key count and append the entry before the tensor infos.
  std::string entry;
  auto put = [&](auto v) { entry.append(reinterpret_cast<const char*>(&v), sizeof v); };
  const std::string key = "test.deep";
  put(uint64_t{key.size()});
  entry += key;
  put(uint32_t{9});
  for (int d = 0; d < 10; d++) {
    put(uint32_t{9});
    put(uint64_t{1});
  }
  put(uint32_t{0});
  put(uint64_t{1});
  entry += '\x01';
  size_t first_info = deep.size();  // the first tensor info follows the metadata
  for (const auto& [name, pos] : b.tensor_info_pos) first_info = std::min(first_info, pos);
  deep.insert(first_info, entry);
  uint64_t kv = 0;
  std::memcpy(&kv, deep.data() + b.kv_count_pos, 8);
  Patch<uint64_t>(deep, b.kv_count_pos, kv + 1);
  ExpectRefused(deep, "nested more than 4 deep in test.deep");
}

TEST(GgufTest, BadOffsetsAreRefused) {
  GgufBuilder b;
  const std::string bytes = MicroFile(GgmlType::kF32, &b);
  const size_t pos = b.tensor_offset_pos.at("blk.0.ffn_up.weight");
  uint64_t offset = 0;
  std::memcpy(&offset, bytes.data() + pos, 8);
  for (uint64_t bad : {uint64_t{1} << 40, UINT64_MAX - 31, uint64_t{bytes.size() / 32 * 32}}) {
    std::string t = bytes;
    Patch<uint64_t>(t, pos, bad);
    ExpectRefused(t, "blk.0.ffn_up.weight");
    ExpectRefused(t, "reaching past the end of the file");
  }
  std::string misaligned = bytes;
  Patch<uint64_t>(misaligned, pos, offset + 4);
  ExpectRefused(misaligned, "misaligned tensor data");
  std::string overlap = bytes;
  uint64_t other = 0;
  std::memcpy(&other, bytes.data() + b.tensor_offset_pos.at("blk.0.ffn_down.weight"), 8);
  Patch<uint64_t>(overlap, pos, other);
  ExpectRefused(overlap, "overlapping tensors");
}

TEST(GgufTest, BadAlignmentIsRefused) {
  RandomModel src = MakeRandomModel(Micro(), 3);
  GgufBuilder b = ModelToGguf(src.view, {});
  b.Uint32("general.alignment", 48);
  ExpectRefused(b.Build(), "general.alignment 48");
  GgufBuilder c = ModelToGguf(src.view, {});
  c.Float32("general.alignment", 32);
  ExpectRefused(c.Build(), "general.alignment 32 of type float32");
}

TEST(GgufTest, DuplicateNamesAndKeysAreRefused) {
  RandomModel src = MakeRandomModel(Micro(), 3);
  GgufBuilder b = ModelToGguf(src.view, {});
  b.FindTensor("blk.0.ffn_up.weight")->name = "blk.0.ffn_gate.weight";
  ExpectRefused(b.Build(), "two tensors called blk.0.ffn_gate.weight");
  GgufBuilder k = ModelToGguf(src.view, {});
  k.String("general.name", "again");
  ExpectRefused(k.Build(), "metadata key general.name twice");
}

TEST(GgufTest, ModelDefectsAreRefused) {
  RandomModel src = MakeRandomModel(Micro(), 3);
  struct Case {
    const char* message;
    void (*edit)(GgufBuilder&);
  } cases[] = {
      {"lacks the tensor blk.0.ffn_up.weight", [](GgufBuilder& b) { b.EraseTensor("blk.0.ffn_up.weight"); }},
      {"lacks the tensor output_norm.weight", [](GgufBuilder& b) { b.EraseTensor("output_norm.weight"); }},
      {"no tensor token_embd.weight", [](GgufBuilder& b) { b.EraseTensor("token_embd.weight"); }},
      {"has architecture \"gpt2\"",
       [](GgufBuilder& b) {
         b.Erase("general.architecture");
         b.String("general.architecture", "gpt2");
       }},
      {"no general.architecture", [](GgufBuilder& b) { b.Erase("general.architecture"); }},
      {"lacks the metadata llama.block_count", [](GgufBuilder& b) { b.Erase("llama.block_count"); }},
      {"llama.embedding_length = -3",
       [](GgufBuilder& b) {
         b.Erase("llama.embedding_length");
         b.Int32("llama.embedding_length", -3);
       }},
      {"llama.block_count 1000000 but only",
       [](GgufBuilder& b) {
         b.Erase("llama.block_count");
         b.Uint32("llama.block_count", 1000000);
       }},
      // Two kv heads: attn_k would be (32, 32), the file has (16, 32).
      {"tensor blk.0.attn_k.weight of shape {32, 16}, but the metadata implies {32, 32}",
       [](GgufBuilder& b) {
         b.Erase("llama.attention.head_count_kv");
         b.Uint32("llama.attention.head_count_kv", 2);
       }},
      {"n_kv_heads 3 exceeds n_heads 2",
       [](GgufBuilder& b) {
         b.Erase("llama.attention.head_count_kv");
         b.Uint32("llama.attention.head_count_kv", 3);
       }},
      {"tensor blk.0.ffn_gate.weight of shape {32, 32}, but the metadata implies {32, 64}",
       [](GgufBuilder& b) {
         b.Erase("llama.feed_forward_length");
         b.Uint32("llama.feed_forward_length", 64);
       }},
      {"llama.rope.dimension_count 8, not head_size 16",
       [](GgufBuilder& b) {
         b.Erase("llama.rope.dimension_count");
         b.Uint32("llama.rope.dimension_count", 8);
       }},
      {"tokenizer.ggml.tokens [string x 8] but token_embd.weight has 9 rows",
       [](GgufBuilder& b) {
         GgufBuilder::Tensor* t = b.FindTensor("token_embd.weight");
         t->dims[1] = 9;
         t->data += std::string(32 * 4, '\0');
       }},
      {"norm blk.0.attn_norm.weight of type Q8_0",
       [](GgufBuilder& b) {
         GgufBuilder::Tensor* t = b.FindTensor("blk.0.attn_norm.weight");
         t->type = static_cast<uint32_t>(GgmlType::kQ8_0);
         t->data.resize(34);
       }},
      {"non-finite value (NaN or infinity) in blk.0.attn_v.weight",
       [](GgufBuilder& b) {
         const float inf = INFINITY;
         std::memcpy(b.FindTensor("blk.0.attn_v.weight")->data.data() + 40, &inf, 4);
       }},
      {"non-finite value (NaN or infinity) in output_norm.weight",
       [](GgufBuilder& b) {
         const float nan = NAN;
         std::memcpy(b.FindTensor("output_norm.weight")->data.data(), &nan, 4);
       }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.message);
    GgufBuilder b = ModelToGguf(src.view, {});
    c.edit(b);
    ExpectRefused(b.Build(), c.message);
  }
}

TEST(GgufTest, LoadedModelPicksTheFormatByItsMagic) {
  RandomModel src = MakeRandomModel(Tiny(), 8);
  ::fpgaserve::testing::TempDir dir;
  const std::string gguf = Write(dir, "m.gguf", ModelToGguf(src.view, {}).Build());
  ASSERT_TRUE(WriteCheckpoint(src.view, dir.file("m.bin"), CheckpointFormat::kV1Float).ok());
  auto a = LoadedModel::FromFile(gguf);
  auto b = LoadedModel::FromFile(dir.file("m.bin"));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(a.value()->config(), b.value()->config());
  EXPECT_TRUE(GgufFile::HasMagic(gguf));
  EXPECT_FALSE(GgufFile::HasMagic(dir.file("m.bin")));
  EXPECT_FALSE(GgufFile::HasMagic(dir.file("missing")));
  auto missing = LoadedModel::FromFile(dir.file("missing.gguf"));
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

// ---- The tokenizer a GGUF carries ----

// The bundled demo model (fp32) and its tokenizer as one GGUF file, in `dir`.
std::string BundledAsGguf(const ::fpgaserve::testing::TempDir& dir, Tokenizer* tokenizer_out = nullptr) {
  auto ckpt = Checkpoint::Open(BundledModelsDir() + "/austen-1m.bin");
  EXPECT_TRUE(ckpt.ok()) << ckpt.status().ToString();
  if (!ckpt.ok()) return "";
  auto tok = Tokenizer::Load(BundledTokenizerPath(), ckpt.value()->config().vocab_size);
  EXPECT_TRUE(tok.ok()) << tok.status().ToString();
  if (!tok.ok()) return "";
  GgufModelOptions o;
  o.vocabulary = &tok.value();
  std::string path = Write(dir, "austen.gguf", ModelToGguf(ckpt.value()->view(), o).Build());
  if (tokenizer_out != nullptr) *tokenizer_out = tok.value();
  return path;
}

TEST(GgufTest, ALlamaVocabularyBecomesTheSameTokenizer) {
  ::fpgaserve::testing::TempDir dir;
  Tokenizer want = Tokenizer::FromPieces({"<unk>", "<s>", "</s>"}, {0, 0, 0}, "unused").value();
  const std::string path = BundledAsGguf(dir, &want);
  ASSERT_FALSE(path.empty());
  auto model = LoadedModel::FromFile(path);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  auto got = LoadTokenizerFor(*model.value(), "", "");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got.value().vocab_size(), want.vocab_size());
  for (int id = 0; id < want.vocab_size(); id++) {
    // Ids 0-2 are spelled as GGUF files spell them ("<s>", not llama2.c's "\n<s>\n"); they decode to ""
    // either way.
    const char* special[] = {"<unk>", "<s>", "</s>"};
    ASSERT_EQ(got.value().Piece(id), id < 3 ? std::string(special[id]) : want.Piece(id)) << id;
    ASSERT_EQ(got.value().Score(id), want.Score(id)) << id;
  }
  EXPECT_EQ(got.value().max_token_length(), want.max_token_length());
  for (const char* text :
       {"It is a truth universally acknowledged", "Mr. Darcy, \u00e9t\u00e9 \xf0\x9f\x98\x80!", ""}) {
    EXPECT_EQ(got.value().Encode(text, true, false), want.Encode(text, true, false)) << text;
  }
  // An explicit tokenizer file wins over the GGUF's own.
  auto file = LoadTokenizerFor(*model.value(), BundledTokenizerPath(), "");
  ASSERT_TRUE(file.ok());
  // A llama2.c model without a tokenizer file and no fallback is refused.
  auto bin = LoadedModel::FromFile(BundledModelsDir() + "/austen-1m.bin");
  ASSERT_TRUE(bin.ok());
  EXPECT_THAT(LoadTokenizerFor(*bin.value(), "", "").status().message(), HasSubstr("carries no tokenizer"));
}

TEST(GgufTest, OtherVocabulariesAreRefusedWithAReason) {
  RandomModel src = MakeRandomModel(Tiny(), 1);
  struct Case {
    const char* message;
    void (*edit)(GgufBuilder&);
  } cases[] = {
      {"is of kind \"bert\"",
       [](GgufBuilder& b) {
         b.Erase("tokenizer.ggml.model");
         b.String("tokenizer.ggml.model", "bert");
       }},
      {"without a tokenizer.ggml.pre",
       [](GgufBuilder& b) {
         b.Erase("tokenizer.ggml.model");
         b.String("tokenizer.ggml.model", "gpt2");
       }},
      {"no tokenizer.ggml.model", [](GgufBuilder& b) { b.Erase("tokenizer.ggml.model"); }},
      {"tokenizer.ggml.bos_token_id 5",
       [](GgufBuilder& b) {
         b.Erase("tokenizer.ggml.bos_token_id");
         b.Uint32("tokenizer.ggml.bos_token_id", 5);
       }},
      {"tokenizer.ggml.scores must be an array of 512 float32s",
       [](GgufBuilder& b) {
         b.Erase("tokenizer.ggml.scores");
         b.Float32Array("tokenizer.ggml.scores", {1, 2});
       }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.message);
    GgufBuilder b = ModelToGguf(src.view, {});
    c.edit(b);
    ::fpgaserve::testing::TempDir dir;
    const std::string path = Write(dir, "m.gguf", b.Build());
    auto model = LoadedModel::FromFile(path);
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    auto tok = LoadTokenizerFor(*model.value(), "", "");
    ASSERT_FALSE(tok.ok());
    EXPECT_THAT(tok.status().message(), AllOf(HasSubstr(path), HasSubstr(c.message)));
  }
}

// ---- Byte-level BPE ("gpt2") vocabularies ----

// The tiny model (vocab 512) carrying `vocabulary`, opened, and its tokenizer.
Result<Tokenizer> ByteLevelTokenizer(const ::fpgaserve::testing::TempDir& dir, const GgufVocabulary& vocabulary,
                                     void (*edit)(GgufBuilder&) = nullptr, std::string* path_out = nullptr) {
  RandomModel src = MakeRandomModel(Tiny(), 1);
  GgufModelOptions options;
  options.gguf_vocabulary = &vocabulary;
  GgufBuilder b = ModelToGguf(src.view, options);
  if (edit != nullptr) edit(b);
  const std::string path = Write(dir, "bpe.gguf", b.Build());
  if (path_out != nullptr) *path_out = path;
  auto model = LoadedModel::FromFile(path);
  if (!model.ok()) return model.status();
  return LoadTokenizerFor(*model.value(), "", "");
}

TEST(GgufTest, AByteLevelVocabularyMergesByRankAndKeepsItsIds) {
  ::fpgaserve::testing::TempDir dir;
  const GgufVocabulary v = ::fpgaserve::testing::SmallByteLevelVocabulary();
  auto tok = ByteLevelTokenizer(dir, v);
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  const Tokenizer& t = tok.value();
  EXPECT_EQ(t.kind(), Tokenizer::Kind::kByteLevelBpe);
  EXPECT_EQ(t.vocab_size(), 512);
  EXPECT_EQ(t.bos_id(), v.bos);
  EXPECT_EQ(t.eos_id(), v.eos);
  EXPECT_TRUE(t.add_bos());
  EXPECT_EQ(t.end_of_generation_ids(), (std::vector<int>{v.eos, v.eot}));
  const std::string sp = ByteLevelBpe::ByteToUnicode(' ');
  // "the then" -> "the" + " then": both words are single tokens after the merges.
  EXPECT_EQ(t.Encode("the then", false, false), (std::vector<int>{t.PieceToId("the"), t.PieceToId(sp + "then")}));
  EXPECT_EQ(t.Encode("in", true, false), (std::vector<int>{v.bos, t.PieceToId("in")}));
  // Bytes without merges stay one token each; decoding gives the bytes back, a control token gives "".
  const std::string text = "x\xF0\x9F\x98\x80 \r\n\tthe 42";
  const std::vector<int> ids = t.Encode(text, true, true);
  EXPECT_EQ(t.Decode(ids), text);
  EXPECT_EQ(t.Decode(-1, v.eot), "");
  // A control spelling is text for Encode and the token for EncodeWithSpecials; a user-defined one is the
  // token for both.
  const std::vector<int> as_text = t.Encode("a<|eot_id|>", false, false);
  EXPECT_GT(as_text.size(), 2u);
  EXPECT_EQ(t.Decode(as_text), "a<|eot_id|>");
  EXPECT_EQ(t.EncodeWithSpecials("a<|eot_id|>", false, false), (std::vector<int>{t.PieceToId("a"), v.eot}));
  EXPECT_EQ(t.Encode("<tool>", false, false), (std::vector<int>{t.PieceToId("<tool>")}));
  EXPECT_EQ(t.Decode(t.Encode("<tool>", false, false)), "<tool>");
}

TEST(GgufTest, ByteLevelVocabularyDefectsAreRefusedWithAReason) {
  struct Case {
    const char* message;
    void (*edit)(GgufBuilder&);
  } cases[] = {
      {"tokenizer.ggml.pre: pre-tokenizer \"gpt-4o\" is not supported",
       [](GgufBuilder& b) {
         b.Erase("tokenizer.ggml.pre");
         b.String("tokenizer.ggml.pre", "gpt-4o");
       }},
      {"merge 0 (\"t zz\") names a token that is not in the vocabulary: \"zz\"",
       [](GgufBuilder& b) {
         auto v = ::fpgaserve::testing::SmallByteLevelVocabulary();
         v.merges[0] = "t zz";
         b.Erase("tokenizer.ggml.merges");
         b.StringArray("tokenizer.ggml.merges", v.merges);
       }},
      {"merge 1 (\"th\") is not two tokens separated by a space",
       [](GgufBuilder& b) {
         auto v = ::fpgaserve::testing::SmallByteLevelVocabulary();
         v.merges[1] = "th";
         b.Erase("tokenizer.ggml.merges");
         b.StringArray("tokenizer.ggml.merges", v.merges);
       }},
      {"yields \"xq\", which is not in the vocabulary",
       [](GgufBuilder& b) {
         auto v = ::fpgaserve::testing::SmallByteLevelVocabulary();
         v.merges.push_back("x q");
         b.Erase("tokenizer.ggml.merges");
         b.StringArray("tokenizer.ggml.merges", v.merges);
       }},
      {"tokenizer.ggml.merges must be an array of strings",
       [](GgufBuilder& b) {
         b.Erase("tokenizer.ggml.merges");
         b.Int32Array("tokenizer.ggml.merges", {1});
       }},
      {"tokenizer.ggml.merges must be an array of strings (\"left right\"), it is absent",
       [](GgufBuilder& b) { b.Erase("tokenizer.ggml.merges"); }},
      {"has token type 9",
       [](GgufBuilder& b) {
         auto v = ::fpgaserve::testing::SmallByteLevelVocabulary();
         v.token_types[300] = 9;
         b.Erase("tokenizer.ggml.token_type");
         b.Int32Array("tokenizer.ggml.token_type", v.token_types);
       }},
      {"tokenizer.ggml.token_type must be an array of 512 int32s",
       [](GgufBuilder& b) {
         b.Erase("tokenizer.ggml.token_type");
         b.Int32Array("tokenizer.ggml.token_type", {1, 1});
       }},
      {"the BOS token id 9999 is outside the vocabulary [0, 511]",
       [](GgufBuilder& b) {
         b.Erase("tokenizer.ggml.bos_token_id");
         b.Uint32("tokenizer.ggml.bos_token_id", 9999);
       }},
      {"tokenizer.ggml.eot_token_id must be a non-negative integer token id",
       [](GgufBuilder& b) {
         b.Erase("tokenizer.ggml.eot_token_id");
         b.String("tokenizer.ggml.eot_token_id", "x");
       }},
      {"has no EOS token id", [](GgufBuilder& b) { b.Erase("tokenizer.ggml.eos_token_id"); }},
      {"tokenizer.ggml.add_bos_token must be a bool",
       [](GgufBuilder& b) {
         b.Erase("tokenizer.ggml.add_bos_token");
         b.Uint32("tokenizer.ggml.add_bos_token", 1);
       }},
      {"no normal token stands for byte 65",
       [](GgufBuilder& b) {
         auto v = ::fpgaserve::testing::SmallByteLevelVocabulary();
         v.token_types[65] = 3;  // "A" becomes a control token
         b.Erase("tokenizer.ggml.token_type");
         b.Int32Array("tokenizer.ggml.token_type", v.token_types);
       }},
      {"is a normal token but not spelled in byte-level characters",
       [](GgufBuilder& b) {
         auto v = ::fpgaserve::testing::SmallByteLevelVocabulary();
         v.tokens[300] = "\xe4\xb8\xad";  // U+4E2D is no byte character
         b.Erase("tokenizer.ggml.tokens");
         b.StringArray("tokenizer.ggml.tokens", v.tokens);
       }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.message);
    ::fpgaserve::testing::TempDir dir;
    std::string path;
    auto tok = ByteLevelTokenizer(dir, ::fpgaserve::testing::SmallByteLevelVocabulary(), c.edit, &path);
    ASSERT_FALSE(tok.ok());
    EXPECT_EQ(tok.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(tok.status().message(), AllOf(HasSubstr(path), HasSubstr(c.message)));
  }
}

// ---- The command line ----

std::string RunFpgaserve(const std::string& args) {
  // stderr has timings, which differ from run to run.
  FILE* pipe = popen((::fpgaserve::testing::FpgaserveBinary() + " " + args + " 2>/dev/null").c_str(), "r");
  if (pipe == nullptr) return "popen failed";
  std::string out;
  char buf[256];
  while (size_t n = fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
  const int status = pclose(pipe);
  return status == 0 ? out : "exit status " + std::to_string(status) + ": " + out;
}

TEST(GgufTest, GenerateWithAGgufAndItsOwnTokenizerWritesWhatTheCheckpointWrites) {
  ::fpgaserve::testing::TempDir dir;
  const std::string gguf = BundledAsGguf(dir);
  ASSERT_FALSE(gguf.empty());
  const std::string args = " -p 'It is a truth universally acknowledged' -n 24 -t 0";
  const std::string want = RunFpgaserve("generate --model " + BundledModelsDir() + "/austen-1m.bin" + args);
  EXPECT_THAT(want, HasSubstr("It is a truth universally acknowledged"));
  EXPECT_EQ(RunFpgaserve("generate --model " + gguf + args), want);
}

TEST(GgufTest, ModelInfoPrintsTheConfigAndMetadata) {
  ::fpgaserve::testing::TempDir dir;
  RandomModel src = MakeRandomModel(Tiny(false), 1);
  const std::string path = Write(dir, "m.gguf", ModelToGguf(src.view, {}).Build());
  const std::string out = RunFpgaserve("model info " + path);
  EXPECT_THAT(out, HasSubstr("format      GGUF v3, alignment 32"));
  EXPECT_THAT(out, HasSubstr("dim 64, hidden_dim 192, n_layers 2, n_heads 4, n_kv_heads 2, vocab_size 512"));
  EXPECT_THAT(out, HasSubstr("rope_theta 10000, rms_eps 1e-05, rope scaling none"));
  EXPECT_THAT(out, HasSubstr("classifier  its own weights"));
  EXPECT_THAT(out, HasSubstr("tokenizer.ggml.tokens (array) = [string x 512]"));
  EXPECT_THAT(out, HasSubstr("general.name (string) = \"test model\""));
  std::string bytes = ModelToGguf(src.view, {}).Build();
  bytes[0] = 'X';
  const std::string bad = Write(dir, "bad.gguf", bytes);
  EXPECT_THAT(RunFpgaserve("model info " + bad), HasSubstr("exit status"));
}

}  // namespace
}  // namespace fpgaserve
