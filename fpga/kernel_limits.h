// KernelLimits: the compile-time maxima a kernel build was made with, and the check that a model and a
// KV cache shape fit them. The simulated card's limits are kernel/kernel.h's constants; an xclbin records
// its own in its build metadata, read by the XRT card.
#pragma once

#include "base/status.h"
#include "fpga/model_view.h"

namespace fpgaserve {

struct KernelLimits {
  int max_dim = 0;
  int max_hidden_dim = 0;
  int max_layers = 0;
  int max_heads = 0;
  int max_seq_len = 0;
  int max_vocab = 0;
  int max_step = 0;
  int min_group_size = 0;

  // The limits of the kernel compiled into this binary (the simulated card).
  static KernelLimits Compiled();

  // OK when a model with this config and a cache of cache_len tokens per slot fits; otherwise
  // OutOfRange naming the first dimension that does not fit, its value and the limit, and `what`
  // (e.g. "the simulated card" or the xclbin's path).
  Status Check(const ModelConfig& config, int cache_len, const std::string& what) const;
};

}  // namespace fpgaserve
