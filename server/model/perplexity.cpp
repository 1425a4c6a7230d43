#include "server/model/perplexity.h"

#include <algorithm>
#include <cmath>

namespace fpgaserve {
namespace {

// -log softmax(logits)[target], computed stably in double.
double NegLogLikelihood(const float* logits, int vocab, int target) {
  const float max_logit = *std::max_element(logits, logits + vocab);
  double sum = 0.0;
  for (int i = 0; i < vocab; i++) sum += std::exp(static_cast<double>(logits[i]) - max_logit);
  return std::log(sum) - (static_cast<double>(logits[target]) - max_logit);
}

Perplexity Finish(double total_nll, int64_t scored) {
  Perplexity p;
  p.tokens_scored = scored;
  p.mean_nll = scored > 0 ? total_nll / scored : 0.0;
  p.perplexity = std::exp(p.mean_nll);
  return p;
}

}  // namespace

Result<Perplexity> KernelPerplexity(Device& card, const std::vector<int>& tokens, int window) {
  const int vocab = card.info().model.vocab_size;
  const int max_step = card.info().max_step;
  std::vector<float> logits(static_cast<size_t>(max_step) * vocab);
  double total = 0.0;
  int64_t scored = 0;
  for (size_t start = 0; start + 1 < tokens.size(); start += window) {
    const int n = static_cast<int>(std::min<size_t>(window, tokens.size() - start));
    for (int pos = 0; pos < n;) {
      Step step;
      const int chunk = std::min(max_step, n - pos);
      for (int i = 0; i < chunk; i++) step.entries.push_back({tokens[start + pos + i], pos + i, 0, i});
      step.n_out_rows = chunk;
      if (Status st = card.Run(step, logits.data()); !st.ok()) return st;
      for (int i = 0; i < chunk; i++) {
        if (pos + i + 1 >= n) break;  // the window's last token predicts nothing inside the window
        total += NegLogLikelihood(logits.data() + static_cast<size_t>(i) * vocab, vocab, tokens[start + pos + i + 1]);
        scored++;
      }
      pos += chunk;
    }
  }
  return Finish(total, scored);
}

Perplexity FloatPerplexity(FloatReference& model, const std::vector<int>& tokens, int window) {
  const int vocab = model.config().vocab_size;
  double total = 0.0;
  int64_t scored = 0;
  for (size_t start = 0; start + 1 < tokens.size(); start += window) {
    const int n = static_cast<int>(std::min<size_t>(window, tokens.size() - start));
    for (int pos = 0; pos + 1 < n; pos++) {
      const float* logits = model.Forward(tokens[start + pos], pos);
      total += NegLogLikelihood(logits, vocab, tokens[start + pos + 1]);
      scored++;
    }
  }
  return Finish(total, scored);
}

}  // namespace fpgaserve
