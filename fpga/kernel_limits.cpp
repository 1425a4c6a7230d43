#include "fpga/kernel_limits.h"

#include <string>

#include "kernel/kernel.h"

namespace fpgaserve {

KernelLimits KernelLimits::Compiled() {
  KernelLimits k;
  k.max_dim = kernel::kMaxDim;
  k.max_hidden_dim = kernel::kMaxHiddenDim;
  k.max_layers = kernel::kMaxLayers;
  k.max_heads = kernel::kMaxHeads;
  k.max_seq_len = kernel::kMaxSeqLen;
  k.max_vocab = kernel::kMaxVocab;
  k.max_step = kernel::kMaxStep;
  k.min_group_size = kernel::kMinGroupSize;
  return k;
}

Status KernelLimits::Check(const ModelConfig& c, int cache_len, const std::string& what) const {
  auto over = [&](const char* name, int value, int limit) {
    return Status::OutOfRange("the model's " + std::string(name) + " is " + std::to_string(value) + " but " + what +
                              " was built for at most " + std::to_string(limit));
  };
  if (c.dim > max_dim) return over("dim", c.dim, max_dim);
  if (c.hidden_dim > max_hidden_dim) return over("hidden_dim", c.hidden_dim, max_hidden_dim);
  if (c.n_layers > max_layers) return over("n_layers", c.n_layers, max_layers);
  if (c.n_heads > max_heads) return over("n_heads", c.n_heads, max_heads);
  if (c.vocab_size > max_vocab) return over("vocab_size", c.vocab_size, max_vocab);
  if (cache_len > max_seq_len) return over("context length (KV cache per slot)", cache_len, max_seq_len);
  if (c.group_size % min_group_size != 0 || c.group_size > 64) {
    return Status::OutOfRange("the model's Q8_0 group size is " + std::to_string(c.group_size) + " but " + what +
                              " takes multiples of " + std::to_string(min_group_size) +
                              " up to 64 (re-quantize an fp32 checkpoint with `fpgaserve model quantize`)");
  }
  if (c.head_size() % 16 != 0) {
    return Status::OutOfRange("the model's head size is " + std::to_string(c.head_size()) + " but " + what +
                              " takes multiples of 16 (attention sums a head in 16 lanes)");
  }
  return Status::Ok();
}

}  // namespace fpgaserve
