// ModelView: a read-only view of a Llama-architecture model's weights, as the weights-image packer takes it.
//
// server/model fills it from a checkpoint file (pointers into the mmap'd file, or into buffers the loader
// owns); the packer (weights_image.h) reads it once. A view owns nothing: whoever made it keeps the memory
// alive while the view is in use. A matrix is fp32 (`f32`) or Q8_0 (`q` + `s`, one scale per group of
// config.group_size consecutive values of a row); the packer quantizes fp32 matrices itself.
#pragma once

#include <cstdint>
#include <vector>

namespace fpgaserve {

// RoPE frequency scaling for long contexts. Pair f of a head turns by pos * freq_f, freq_f =
// rope_theta^(-2f / head_size), divided by
//   kLinear         `factor` for every pair (linear position interpolation);
//   kPerFrequency   divisors[f] (Llama 3.1's "llama3" rule, which GGUF files carry already evaluated, one
//                   divisor per pair, as the tensor rope_freqs.weight).
// The host makes each step's rotation table from it (fpga/step_input.h: RopeFrequency).
struct RopeScaling {
  enum Kind { kNone, kLinear, kPerFrequency };
  static constexpr int kMaxPairs = 64;  // head_size / 2 for the largest head the kernel takes (128)
  Kind kind = kNone;
  float factor = 1.0f;             // kLinear: the divisor; kPerFrequency: the largest divisor
  float divisors[kMaxPairs] = {};  // kPerFrequency
  int original_context = 0;        // context length the model was trained with before scaling
  bool active() const { return kind != kNone; }
  bool operator==(const RopeScaling&) const = default;
};

struct ModelConfig {
  int dim = 0;         // transformer width
  int hidden_dim = 0;  // FFN width
  int n_layers = 0;
  int n_heads = 0;     // query heads
  int n_kv_heads = 0;  // key/value heads (grouped-query attention when < n_heads)
  int vocab_size = 0;
  int seq_len = 0;                // longest context the model was trained for
  int group_size = 64;            // Q8_0 group size
  bool shared_classifier = true;  // classifier weights are the token embedding
  // Hyperparameters of the math; the defaults are llama2.c's. The host turns the RoPE base and scaling
  // into each step's rotation table (fpga/step_input.h); the image header carries rms_eps to the kernel.
  float rope_theta = 10000.0f;  // RoPE base: pair i of a head turns by pos * rope_theta^(-2i / head_size)
  float rms_eps = 1e-5f;        // added to the mean square in RMSNorm
  RopeScaling rope_scaling;

  int head_size() const { return dim / n_heads; }
  int kv_dim() const { return dim / n_heads * n_kv_heads; }
  bool operator==(const ModelConfig&) const = default;
};

// rows x cols, row-major.
struct MatrixView {
  int rows = 0;
  int cols = 0;
  const float* f32 = nullptr;  // fp32 values, or
  const int8_t* q = nullptr;   // Q8_0 values and
  const float* s = nullptr;    // their scales, rows * cols / group_size of them
  bool quantized() const { return q != nullptr; }
};

struct LayerView {
  const float* rms_att = nullptr;  // (dim)
  const float* rms_ffn = nullptr;  // (dim)
  MatrixView wq;                   // (dim, dim)
  MatrixView wk;                   // (kv_dim, dim)
  MatrixView wv;                   // (kv_dim, dim)
  MatrixView wo;                   // (dim, dim)
  MatrixView w1;                   // (hidden_dim, dim)
  MatrixView w2;                   // (dim, hidden_dim)
  MatrixView w3;                   // (hidden_dim, dim)
};

struct ModelView {
  ModelConfig config;
  MatrixView token_embedding;  // (vocab, dim)
  std::vector<LayerView> layers;
  const float* rms_final = nullptr;  // (dim)
  MatrixView classifier;             // (vocab, dim); the token embedding again when config.shared_classifier
};

}  // namespace fpgaserve
