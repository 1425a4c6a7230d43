// Random models: fp32 weights of a given shape, made from a seed. No trained checkpoint can be fetched
// here, so tests and benchmarks run on these (`fpgaserve model random` writes one to a file).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "fpga/model_view.h"

namespace fpgaserve {

// A model that owns its weights. `view` points into `weights`; moving a RandomModel keeps the view valid
// (a moved std::vector keeps its buffer), copying would not, so copies are disabled.
struct RandomModel {
  RandomModel() = default;
  RandomModel(RandomModel&&) = default;
  RandomModel& operator=(RandomModel&&) = default;
  RandomModel(const RandomModel&) = delete;
  RandomModel& operator=(const RandomModel&) = delete;

  std::vector<float> weights;  // every tensor back to back, in the fill order below
  ModelView view;              // fp32 matrices; config as given to MakeRandomModel
};

// Makes a model of `config`'s shape (including its group_size and shared_classifier) whose weights depend
// only on `seed` (same seed, same build: same bits). REQUIRES: ValidateModelConfig(config).ok().
//
// Scales are chosen so that a forward pass stays in a sane range at any depth and width, like a model
// at initialization in the usual recipes, and gives non-degenerate logits:
//   token embedding, classifier  N(0, 1/dim)            -> logits of standard deviation ~1
//   wq wk wv w1 w3               N(0, 1/dim)            -> unit-variance outputs from a normalized input
//   wo, w2                       N(0, 2/(fan_in * n_layers))  -> the residual stream stays O(1)
//   rms norms                    1 + N(0, 0.02^2)
// The residual stream is dominated by the layers' outputs rather than the embedding (rms ~1.5 against
// 1/sqrt(dim)), so the logits are not just the current token echoed back through a shared classifier:
// with half that residual scale, greedy decoding locked onto one repeated token within a few steps for
// most seeds; with this one it wanders over 5-15 distinct tokens in 40 steps (measured on tiny and
// stories15M with the fp32 reference forward pass).
//
// Fill order (one RNG stream): token_embedding, then per layer rms_att, rms_ffn, wq, wk, wv, wo, w1, w2,
// w3; rms_final; classifier when not shared. stories110M (~440 MB) takes about a second.
RandomModel MakeRandomModel(const ModelConfig& config, uint64_t seed);

// The shapes of the public llama2.c checkpoints and one for fast tests:
//   stories15M   dim 288, hidden 768,  6 layers,  6 heads,  6 kv heads, vocab 32000, seq_len 256
//   stories42M   dim 512, hidden 1376, 8 layers,  8 heads,  8 kv heads, vocab 32000, seq_len 1024
//   stories110M  dim 768, hidden 2048, 12 layers, 12 heads, 12 kv heads, vocab 32000, seq_len 1024
//   tiny         dim 64,  hidden 192,  2 layers,  4 heads,  2 kv heads (grouped-query), vocab 512,
//                seq_len 128
//   tinyllama-1.1B  dim 2048, hidden 5632, 22 layers, 32 heads, 4 kv heads, vocab 32000, seq_len 2048
//   llama-3.2-1b    dim 2048, hidden 8192, 16 layers, 32 heads, 8 kv heads, vocab 128256, seq_len 131072,
//                   rope_theta 500000 with Llama 3's per-frequency scaling (factor 32, low 1, high 4,
//                   original context 8192)
//   smollm2-135m    dim 576,  hidden 1536, 30 layers, 9 heads,  3 kv heads, vocab 49152, seq_len 8192,
//                   rope_theta 100000
// with a shared classifier and group_size = DefaultGroupSizeFor(dim, hidden_dim) (32 for stories15M and
// stories42M, 64 for the others). InvalidArgument naming the known shapes for any other name.
Result<ModelConfig> NamedShape(std::string_view name);

// The names NamedShape knows, in the order above.
std::vector<std::string> NamedShapeNames();

}  // namespace fpgaserve
