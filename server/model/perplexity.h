// Perplexity of a model over a token sequence: exp(mean negative log-likelihood of each next token),
// measured with the kernel (a card: int8 weights and activations) or with the float reference, so the
// int8 loss can be stated as HLSTransform did (their Table 1: 2.9679 int8 vs 2.9667 float, 110M model).
//
// The sequence is cut into windows of at most `window` tokens (<= the context); each window starts a
// fresh context at position 0 and scores its tokens 1..n-1 from the tokens before them.
#pragma once

#include <cstdint>
#include <vector>

#include "fpga/device.h"
#include "server/model/float_reference.h"

namespace fpgaserve {

struct Perplexity {
  int64_t tokens_scored = 0;
  double mean_nll = 0.0;    // nats per token
  double perplexity = 0.0;  // exp(mean_nll)
};

// With the kernel, on slot 0 of `card`, feeding each window in chunks of the card's step size and asking
// for logits at every position. REQUIRES: window <= card.info().cache_len. Errors are the card's.
Result<Perplexity> KernelPerplexity(Device& card, const std::vector<int>& tokens, int window);

// With the float reference, token by token. REQUIRES: window <= model seq_len.
Perplexity FloatPerplexity(FloatReference& model, const std::vector<int>& tokens, int window);

}  // namespace fpgaserve
