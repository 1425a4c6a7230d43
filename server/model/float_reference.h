// FloatReference: the plain fp32 forward pass of a Llama-architecture model, one token at a time, written
// to be read (after llama2.c's run.c). It is the oracle the kernel is tested against and what
// `eval perplexity --float` measures; it is not a serving path.
//
// It copies the weights as fp32 (dequantizing Q8_0 matrices), so it costs 4 bytes per parameter. One
// sequence, one thread at a time.
#pragma once

#include <vector>

#include "fpga/model_view.h"

namespace fpgaserve {

class FloatReference {
 public:
  explicit FloatReference(const ModelView& model);

  // Feeds `token` at position `pos` (0, 1, 2, ... in order for one sequence; going back to an earlier
  // pos restarts from there) and returns the vocab_size logits, valid until the next call.
  // REQUIRES: 0 <= token < vocab_size, 0 <= pos < seq_len.
  const float* Forward(int token, int pos);

  const ModelConfig& config() const { return c_; }

 private:
  struct Layer {
    std::vector<float> rms_att, rms_ffn, wq, wk, wv, wo, w1, w2, w3;
  };
  ModelConfig c_;
  // Weights (read-only after construction).
  std::vector<float> token_embedding_;  // (vocab, dim)
  std::vector<Layer> layers_;
  std::vector<float> rms_final_;   // (dim)
  std::vector<float> classifier_;  // (vocab, dim)
  // State of the sequence.
  std::vector<float> x_, xb_, xb2_, hb_, hb2_, q_, k_, v_, att_, logits_;
  std::vector<float> key_cache_, value_cache_;  // (layer, seq_len, kv_dim)
};

}  // namespace fpgaserve
