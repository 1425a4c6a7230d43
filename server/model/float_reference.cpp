#include "server/model/float_reference.h"

#include <cmath>

#include "fpga/q8_0.h"
#include "fpga/step_input.h"

namespace fpgaserve {
namespace {

std::vector<float> ToFloat(const MatrixView& m, int gs) {
  const size_t n = static_cast<size_t>(m.rows) * m.cols;
  if (!m.quantized()) return std::vector<float>(m.f32, m.f32 + n);
  std::vector<float> out(n);
  DequantizeQ8_0(m.q, m.s, n, gs, out.data());
  return out;
}

void rmsnorm(float* o, const float* x, const float* weight, int size, float eps) {
  float ss = 0.0f;
  for (int j = 0; j < size; j++) ss += x[j] * x[j];
  ss = 1.0f / std::sqrt(ss / size + eps);
  for (int j = 0; j < size; j++) o[j] = weight[j] * (ss * x[j]);
}

void softmax(float* x, int size) {
  float max_val = x[0];
  for (int i = 1; i < size; i++) max_val = std::fmax(max_val, x[i]);
  float sum = 0.0f;
  for (int i = 0; i < size; i++) {
    x[i] = std::exp(x[i] - max_val);
    sum += x[i];
  }
  for (int i = 0; i < size; i++) x[i] /= sum;
}

// xout (d) = W (d, n) @ x (n)
void matmul(float* xout, const float* x, const float* w, int n, int d) {
  for (int i = 0; i < d; i++) {
    float val = 0.0f;
    for (int j = 0; j < n; j++) val += w[static_cast<size_t>(i) * n + j] * x[j];
    xout[i] = val;
  }
}

}  // namespace

FloatReference::FloatReference(const ModelView& m) : c_(m.config) {
  const int gs = c_.group_size, dim = c_.dim;
  token_embedding_ = ToFloat(m.token_embedding, gs);
  for (const LayerView& l : m.layers) {
    layers_.push_back({std::vector<float>(l.rms_att, l.rms_att + dim), std::vector<float>(l.rms_ffn, l.rms_ffn + dim),
                       ToFloat(l.wq, gs), ToFloat(l.wk, gs), ToFloat(l.wv, gs), ToFloat(l.wo, gs), ToFloat(l.w1, gs),
                       ToFloat(l.w2, gs), ToFloat(l.w3, gs)});
  }
  rms_final_.assign(m.rms_final, m.rms_final + dim);
  classifier_ = c_.shared_classifier ? token_embedding_ : ToFloat(m.classifier, gs);
  const int kv_dim = c_.kv_dim();
  for (auto* b : {&x_, &xb_, &xb2_, &q_}) b->assign(dim, 0.0f);
  for (auto* b : {&hb_, &hb2_}) b->assign(c_.hidden_dim, 0.0f);
  k_.assign(kv_dim, 0.0f);
  v_.assign(kv_dim, 0.0f);
  att_.assign(static_cast<size_t>(c_.n_heads) * c_.seq_len, 0.0f);
  logits_.assign(c_.vocab_size, 0.0f);
  key_cache_.assign(static_cast<size_t>(c_.n_layers) * c_.seq_len * kv_dim, 0.0f);
  value_cache_.assign(key_cache_.size(), 0.0f);
}

const float* FloatReference::Forward(int token, int pos) {
  const int dim = c_.dim, hidden_dim = c_.hidden_dim, head_size = c_.head_size(), kv_dim = c_.kv_dim();
  const int kv_mul = c_.n_heads / c_.n_kv_heads;
  float* x = x_.data();

  // Token embedding.
  for (int j = 0; j < dim; j++) x[j] = token_embedding_[static_cast<size_t>(token) * dim + j];

  for (int l = 0; l < c_.n_layers; l++) {
    const Layer& w = layers_[l];
    // Attention: q, k, v of this token.
    rmsnorm(xb_.data(), x, w.rms_att.data(), dim, c_.rms_eps);
    matmul(q_.data(), xb_.data(), w.wq.data(), dim, dim);
    matmul(k_.data(), xb_.data(), w.wk.data(), dim, kv_dim);
    matmul(v_.data(), xb_.data(), w.wv.data(), dim, kv_dim);

    // RoPE: rotate each pair (2i, 2i+1) of every head by pos * theta^(-2i/head_size), scaled as the model
    // says (the host's RopeFrequency, the one definition of the model's RoPE).
    for (int i = 0; i < dim; i += 2) {
      const int head_dim = i % head_size;
      const float freq = RopeFrequency(c_, head_dim / 2);
      const float val = pos * freq, fcr = std::cos(val), fci = std::sin(val);
      const int rotn = i < kv_dim ? 2 : 1;  // q always, k while within kv_dim
      for (int r = 0; r < rotn; r++) {
        float* vec = r == 0 ? q_.data() : k_.data();
        const float v0 = vec[i], v1 = vec[i + 1];
        vec[i] = v0 * fcr - v1 * fci;
        vec[i + 1] = v0 * fci + v1 * fcr;
      }
    }

    // Key and value of this position into the cache.
    float* key_row = key_cache_.data() + (static_cast<size_t>(l) * c_.seq_len + pos) * kv_dim;
    float* value_row = value_cache_.data() + (static_cast<size_t>(l) * c_.seq_len + pos) * kv_dim;
    std::copy(k_.begin(), k_.end(), key_row);
    std::copy(v_.begin(), v_.end(), value_row);

    // Multi-head attention over positions 0..pos.
    for (int h = 0; h < c_.n_heads; h++) {
      const float* qh = q_.data() + h * head_size;
      float* att = att_.data() + static_cast<size_t>(h) * c_.seq_len;
      for (int t = 0; t <= pos; t++) {
        const float* kt = key_cache_.data() + (static_cast<size_t>(l) * c_.seq_len + t) * kv_dim +
                          (h / kv_mul) * head_size;
        float score = 0.0f;
        for (int i = 0; i < head_size; i++) score += qh[i] * kt[i];
        att[t] = score / std::sqrt(static_cast<float>(head_size));
      }
      softmax(att, pos + 1);
      float* xbh = xb_.data() + h * head_size;
      std::fill(xbh, xbh + head_size, 0.0f);
      for (int t = 0; t <= pos; t++) {
        const float* vt = value_cache_.data() + (static_cast<size_t>(l) * c_.seq_len + t) * kv_dim +
                          (h / kv_mul) * head_size;
        for (int i = 0; i < head_size; i++) xbh[i] += att[t] * vt[i];
      }
    }

    // Output projection and residual.
    matmul(xb2_.data(), xb_.data(), w.wo.data(), dim, dim);
    for (int i = 0; i < dim; i++) x[i] += xb2_[i];

    // FFN: w2(silu(w1(x)) * w3(x)) and residual.
    rmsnorm(xb_.data(), x, w.rms_ffn.data(), dim, c_.rms_eps);
    matmul(hb_.data(), xb_.data(), w.w1.data(), dim, hidden_dim);
    matmul(hb2_.data(), xb_.data(), w.w3.data(), dim, hidden_dim);
    for (int i = 0; i < hidden_dim; i++) {
      const float g = hb_[i];
      hb_[i] = g / (1.0f + std::exp(-g)) * hb2_[i];
    }
    matmul(xb_.data(), hb_.data(), w.w2.data(), hidden_dim, dim);
    for (int i = 0; i < dim; i++) x[i] += xb_[i];
  }

  // Final norm and classifier.
  rmsnorm(x, x, rms_final_.data(), dim, c_.rms_eps);
  matmul(logits_.data(), x, classifier_.data(), dim, c_.vocab_size);
  return logits_.data();
}

}  // namespace fpgaserve
