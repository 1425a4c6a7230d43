#include "server/model/random_model.h"

#include <cmath>

#include "server/model/checkpoint.h"

namespace fpgaserve {
namespace {

// splitmix64 (Steele, Lea, Flood 2014): tiny, fast, and every seed gives a good stream.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform in [-1, 1), 53 bits.
  double Symmetric() { return static_cast<double>(Next() >> 11) * 0x1.0p-52 - 1.0; }

 private:
  uint64_t state_;
};

// Standard normal values from Marsaglia's polar method (Box-Muller without the sine and cosine: about
// twice as fast, which matters for 110M values). Yields them in pairs.
class Normal {
 public:
  explicit Normal(uint64_t seed) : rng_(seed) {}
  double Next() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u, v, s;
    do {
      u = rng_.Symmetric();
      v = rng_.Symmetric();
      s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    const double f = std::sqrt(-2.0 * std::log(s) / s);
    spare_ = v * f;
    has_spare_ = true;
    return u * f;
  }

 private:
  SplitMix64 rng_;
  double spare_ = 0.0;
  bool has_spare_ = false;
};

// Hands out consecutive slices of the weight arena.
class Arena {
 public:
  explicit Arena(std::vector<float>& w) : w_(w) {}
  float* Take(size_t n) {
    float* p = w_.data() + used_;
    used_ += n;
    return p;
  }

 private:
  std::vector<float>& w_;
  size_t used_ = 0;
};

}  // namespace

RandomModel MakeRandomModel(const ModelConfig& config, uint64_t seed) {
  const ModelConfig& c = config;
  RandomModel model;
  model.weights.resize(static_cast<size_t>(ParameterCount(c)));
  Arena arena(model.weights);
  Normal normal(seed);

  const size_t dim = static_cast<size_t>(c.dim);
  const double sd_in = 1.0 / std::sqrt(static_cast<double>(c.dim));
  // Each of the 2 * n_layers blocks adds variance ~2 / n_layers to the residual stream (see the header).
  const double residual = std::sqrt(2.0 / c.n_layers);
  auto fill = [&](float* p, size_t n, double mean, double sd) {
    for (size_t i = 0; i < n; i++) p[i] = static_cast<float>(mean + sd * normal.Next());
  };
  auto norm = [&]() {
    float* p = arena.Take(dim);
    fill(p, dim, 1.0, 0.02);
    return p;
  };
  auto matrix = [&](int rows, int cols, double sd) {
    const size_t n = static_cast<size_t>(rows) * static_cast<size_t>(cols);
    MatrixView m;
    m.rows = rows;
    m.cols = cols;
    float* p = arena.Take(n);
    fill(p, n, 0.0, sd);
    m.f32 = p;
    return m;
  };

  ModelView& v = model.view;
  v.config = c;
  v.token_embedding = matrix(c.vocab_size, c.dim, sd_in);
  v.layers.resize(static_cast<size_t>(c.n_layers));
  for (LayerView& l : v.layers) {
    l.rms_att = norm();
    l.rms_ffn = norm();
    l.wq = matrix(c.dim, c.dim, sd_in);
    l.wk = matrix(c.kv_dim(), c.dim, sd_in);
    l.wv = matrix(c.kv_dim(), c.dim, sd_in);
    l.wo = matrix(c.dim, c.dim, sd_in * residual);
    l.w1 = matrix(c.hidden_dim, c.dim, sd_in);
    l.w2 = matrix(c.dim, c.hidden_dim, residual / std::sqrt(static_cast<double>(c.hidden_dim)));
    l.w3 = matrix(c.hidden_dim, c.dim, sd_in);
  }
  v.rms_final = norm();
  v.classifier = c.shared_classifier ? v.token_embedding : matrix(c.vocab_size, c.dim, sd_in);
  return model;
}

namespace {

struct Named {
  const char* name;
  ModelConfig config;
};

ModelConfig WithTheta(ModelConfig c, float theta) {
  c.rope_theta = theta;
  return c;
}

// Llama 3.2's RoPE: base 500000 and the "llama3" per-frequency rule (factor 32, low_freq_factor 1,
// high_freq_factor 4, original context 8192), evaluated into one divisor per pair as llama.cpp's converter
// writes rope_freqs.weight: wavelengths shorter than original/high keep their frequency, longer than
// original/low are divided by the factor, and those between are interpolated smoothly.
ModelConfig Llama32(ModelConfig c) {
  c = WithTheta(c, 500000.0f);
  constexpr double kFactor = 32, kLow = 1, kHigh = 4, kOriginal = 8192;
  constexpr double kPi = 3.14159265358979323846;
  RopeScaling& rs = c.rope_scaling;
  rs.kind = RopeScaling::kPerFrequency;
  rs.original_context = static_cast<int>(kOriginal);
  rs.factor = static_cast<float>(kFactor);
  const int pairs = c.head_size() / 2;
  for (int f = 0; f < pairs; ++f) {
    const double freq = 1.0 / std::pow(double{c.rope_theta}, 2.0 * f / c.head_size());
    const double wavelen = 2 * kPi / freq;
    double divisor = 1;
    if (wavelen > kOriginal / kLow) {
      divisor = kFactor;
    } else if (wavelen >= kOriginal / kHigh) {
      const double smooth = (kOriginal / wavelen - kLow) / (kHigh - kLow);
      divisor = 1 / ((1 - smooth) / kFactor + smooth);
    }
    rs.divisors[f] = static_cast<float>(divisor);
  }
  return c;
}

std::vector<Named> Shapes() {
  auto shape = [](int dim, int hidden, int layers, int heads, int kv_heads, int vocab, int seq_len) {
    ModelConfig c;
    c.dim = dim;
    c.hidden_dim = hidden;
    c.n_layers = layers;
    c.n_heads = heads;
    c.n_kv_heads = kv_heads;
    c.vocab_size = vocab;
    c.seq_len = seq_len;
    c.group_size = DefaultGroupSizeFor(dim, hidden);
    c.shared_classifier = true;
    return c;
  };
  return {{"stories15M", shape(288, 768, 6, 6, 6, 32000, 256)},
          {"stories42M", shape(512, 1376, 8, 8, 8, 32000, 1024)},
          {"stories110M", shape(768, 2048, 12, 12, 12, 32000, 1024)},
          {"tiny", shape(64, 192, 2, 4, 2, 512, 128)},
          // The 1B class the card aims at (TinyLlama-1.1B's shape: grouped-query attention, 4 kv heads).
          {"tinyllama-1.1B", shape(2048, 5632, 22, 32, 4, 32000, 2048)},
          {"llama-3.2-1b", Llama32(shape(2048, 8192, 16, 32, 8, 128256, 131072))},
          {"smollm2-135m", WithTheta(shape(576, 1536, 30, 9, 3, 49152, 8192), 100000.0f)}};
}

}  // namespace

Result<ModelConfig> NamedShape(std::string_view name) {
  std::string known;
  for (const Named& s : Shapes()) {
    if (name == s.name) return s.config;
    known += (known.empty() ? "" : ", ") + std::string(s.name);
  }
  return Status::InvalidArgument("unknown model shape \"" + std::string(name) + "\"; known shapes: " + known);
}

std::vector<std::string> NamedShapeNames() {
  std::vector<std::string> names;
  for (const Named& s : Shapes()) names.emplace_back(s.name);
  return names;
}

}  // namespace fpgaserve
