// GgufModel: a GGUF file of architecture `llama` (Llama 2/3.x, TinyLlama, SmolLM2...) seen as a ModelView.
//
// Metadata -> ModelConfig:
//   dim llama.embedding_length, hidden_dim llama.feed_forward_length, n_layers llama.block_count,
//   n_heads llama.attention.head_count, n_kv_heads llama.attention.head_count_kv (default n_heads),
//   seq_len llama.context_length, vocab_size the token embedding's row count (tokenizer.ggml.tokens and
//   llama.vocab_size must agree when present), rope_theta llama.rope.freq_base (default 10000), rms_eps
//   llama.attention.layer_norm_rms_epsilon (default 1e-5), rope_scaling: linear from llama.rope.scaling.type
//   "linear" / .factor, or per frequency from a `rope_freqs.weight` tensor (Llama 3.1's converter bakes its
//   "llama3" rule into one divisor per pair, which the host applies as they are); other types (YaRN) are
//   refused. llama.rope.dimension_count and
//   llama.attention.key_length/value_length, when present, must equal head_size (no partial rotary).
//
// Tensors (GGUF dims are {cols, rows}): token_embd.weight (vocab, dim); per layer N blk.N.attn_norm.weight
// (dim), blk.N.attn_q/attn_k/attn_v/attn_output.weight, blk.N.ffn_norm.weight (dim),
// blk.N.ffn_gate.weight = w1 (hidden, dim), blk.N.ffn_down.weight = w2 (dim, hidden),
// blk.N.ffn_up.weight = w3 (hidden, dim); output_norm.weight (dim); output.weight (vocab, dim), absent
// when the classifier is the token embedding (config.shared_classifier). Every one of them must be
// present with exactly its shape; other tensors are ignored.
//
// Tensor types:
//   F32            matrices point into the mapping (copied when the file's alignment leaves them
//                  unaligned for float);
//   F16, BF16      converted to fp32 once, at load (the packer quantizes fp32 matrices itself);
//   Q8_0           kept as Q8_0 with group size 32 without loss: the int8 values are copied out of the
//                  34-byte blocks, each fp16 scale becomes the float of the same value (exact). The
//                  model's config.group_size is then 32, and fp32 matrices are quantized with it too;
//   Q4_0, Q4_K, Q5_K, Q6_K  dequantized to fp32 at load, with a log line: the packer requantizes them to
//                  Q8_0, so the card computes with a (slightly different) 8-bit copy of the 4-6 bit
//                  weights. This makes common llama.cpp quantizations loadable at the cost of memory;
//   anything else  refused, naming the tensor and its type.
// Norms must be F32, F16 or BF16. A non-finite value in any tensor refuses the file (as Checkpoint does).
//
// RoPE and the Q/K row order. llama.cpp's converter (convert_hf_to_gguf.py, LlamaModel.modify_tensors)
// applies LlamaModel.permute to Hugging Face's q_proj and k_proj weights, undoing the permutation that
// Hugging Face's conversion from Meta's checkpoints applied for its rotate-half RoPE. The GGUF rows are
// thus in Meta's original order, and llama.cpp runs architecture `llama` with LLAMA_ROPE_TYPE_NORM
// ("a normal RoPE, operating on pairs of consecutive head values": llama_model_rope_type in
// src/llama-model.cpp), i.e. it rotates pairs (2i, 2i+1) of each head, as llama2.c's run.c does (whose
// export.py applies the same un-permutation to Hugging Face weights for the same reason). So GGUF Q and K
// rows are used as they are by our kernel, which rotates pairs (i, i+1); no permutation here.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "fpga/model_view.h"
#include "server/model/gguf.h"

namespace fpgaserve {

class GgufModel {
 public:
  // Opens `path` with GgufFile::Open and maps it to a ModelView as described above. Errors: those of
  // GgufFile::Open; InvalidArgument, naming the file and the defect, for an architecture other than
  // `llama`, a missing or mistyped hyperparameter, a shape that ValidateModelConfig refuses, a missing
  // tensor, a tensor whose shape disagrees with the metadata, an unsupported tensor type, a non-finite
  // value. Hyperparameters the kernel cannot use yet (rope_theta, rms_eps, scaling) are reported in
  // config(), not refused here: LoadedModel decides.
  static Result<std::unique_ptr<GgufModel>> Open(const std::string& path);

  // Valid while this GgufModel lives.
  const ModelView& view() const { return view_; }
  const ModelConfig& config() const { return view_.config; }
  const GgufFile& file() const { return *file_; }

  // A few lines for `fpgaserve model info`: path, GGUF version, name, architecture, shape, tensor types,
  // hyperparameters, tokenizer, parameter and byte counts.
  std::string Describe() const;
  // Every metadata key with its type and a short rendering of its value (arrays as their element type and
  // length, long strings cut), one per line, in file order.
  std::string DescribeMetadata() const;

  // Thread-safety: immutable after Open.

 private:
  GgufModel() = default;
  Status Load();
  Status LoadConfig();
  // Fills `m` from the tensor `name` of shape (rows, cols).
  Status LoadMatrix(const std::string& name, int rows, int cols, MatrixView* m);
  // A fp32 vector of `n` values from the tensor `name` of shape (n).
  Status LoadVector(const std::string& name, int n, const float** out);
  Result<const GgufTensorInfo*> Tensor(const std::string& name, const std::vector<uint64_t>& dims);
  const float* OwnFloats(std::vector<float> values);

  std::unique_ptr<GgufFile> file_;
  ModelView view_;
  std::string what_;  // "model file <path>"
  // Buffers for converted tensors; the view points into them (a vector's buffer survives moves).
  std::vector<std::vector<float>> floats_;
  std::vector<std::vector<int8_t>> int8s_;
  int dequantized_ = 0;  // tensors converted from a 4-6 bit type
};

}  // namespace fpgaserve
