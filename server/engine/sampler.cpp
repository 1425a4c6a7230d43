#include "server/engine/sampler.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <sstream>

namespace fpgaserve {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

// The vocabulary is processed in blocks of kBlock tokens whose weights live in a stack buffer: the walk of
// the inverse CDF recomputes a block's weights instead of keeping a vocab-sized buffer per sequence.
constexpr int kBlock = 256;
// Sums run in kLanes independent accumulators. One float accumulator is a serial chain of additions
// (g++ may not reorder them without -ffast-math); lanes let it vectorise, and the order stays fixed,
// so the result is the same on every run.
constexpr int kLanes = 16;

// Below this exponent ExpNonPositive returns 0: e^-87 is near the smallest normal float.
constexpr float kExpFloor = -87.0f;

// The smallest weight (probability relative to the best token's) that can be drawn. All the tokens below
// it together hold less than 2^-24 of the mass, less than one step of the 24-bit random float, so dropping
// them changes no draw's odds by a step; and it keeps a -100 bias a ban and +100 a certainty at every
// temperature, even for the edge draw u = 0.
float NegligibleWeight(int vocab_size) { return 0x1.0p-24f / static_cast<float>(vocab_size); }

// a when keep, else +0. A bit mask rather than `?:`, which g++ -O2 does not vectorise for plain x86-64 (SSE2,
// no blend instruction): the portable build of the daemon would lose a factor of ten.
inline float KeepIf(bool keep, float a) {
  return std::bit_cast<float>(std::bit_cast<uint32_t>(a) & (0u - static_cast<uint32_t>(keep)));
}

// e^x for x <= 0, within 2 ulp; 0 for x < kExpFloor and for NaN. std::exp is a library call g++ does not
// vectorise without -ffast-math, and 32000 of those take ~90 µs, the whole budget of a sample.
// Cephes' expf: x = n ln2 + r with |r| <= ln2 / 2, e^r by a degree-6 polynomial, 2^n from the exponent bits.
inline float ExpNonPositive(float x) {
  const bool in_range = x >= kExpFloor;                                      // false for NaN
  const float clamped = KeepIf(in_range, x) + KeepIf(!in_range, kExpFloor);  // one term is 0: exact
  const float kRound = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  const float n = (clamped * 1.44269504088896341f + kRound) - kRound;
  float r = clamped - n * 0.693359375f;  // ln2 in two parts, the first exact in a float
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const float scale = std::bit_cast<float>((static_cast<int32_t>(n) + 127) << 23);  // n in [-126, 0]
  return KeepIf(in_range, p * scale);
}

// The highest of x[0..n), NaN ignored; -inf when there is none.
float MaxOf(const float* x, int n) {
  float lanes[kLanes];
  std::fill(lanes, lanes + kLanes, -kInf);
  int i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int j = 0; j < kLanes; ++j) lanes[j] = x[i + j] > lanes[j] ? x[i + j] : lanes[j];
  }
  for (; i < n; ++i) lanes[0] = x[i] > lanes[0] ? x[i] : lanes[0];
  float best = -kInf;
  for (float lane : lanes) best = lane > best ? lane : best;
  return best;
}

// Greedy choice: the first (lowest) id holding the highest logit, NaN ignored; 0 when every logit is NaN.
int32_t ArgMax(const float* logits, int n) {
  const float best = MaxOf(logits, n);
  for (int i = 0; i < n; ++i) {
    if (logits[i] == best) return i;
  }
  return 0;
}

// Block b (a multiple of kBlock) of the n logits as kBlock floats: in place, or, for a short last block,
// copied into pad and filled up with -inf (weight 0). Fixed-length loops are what g++ vectorises at -O2,
// which does not generate remainder loops.
const float* Block(const float* logits, int n, int b, float* pad) {
  if (b + kBlock <= n) return logits + b;
  std::fill(std::copy(logits + b, logits + n, pad), pad + kBlock, -kInf);
  return pad;
}

// w[i] = e^((block[i] - max_logit) * inv_temperature) for i < kBlock, 0 below weight_floor; returns their
// sum. With max_logit the highest logit, the best token's weight is exactly 1, so a weight is the token's
// probability relative to the best one (what min_p compares with). __restrict (w never overlaps block)
// spares g++ the run-time overlap check that keeps -O2 from vectorising.
float BlockWeights(const float* __restrict block, float max_logit, float inv_temperature, float weight_floor,
                   float* __restrict w) {
  for (int i = 0; i < kBlock; ++i) {
    const float e = ExpNonPositive((block[i] - max_logit) * inv_temperature);
    w[i] = KeepIf(e >= weight_floor, e);
  }
  float lanes[kLanes] = {};
  for (int i = 0; i < kBlock; i += kLanes) {
    for (int j = 0; j < kLanes; ++j) lanes[j] += w[i + j];
  }
  float sum = 0.0f;
  for (float lane : lanes) sum += lane;
  return sum;
}

// The sum of every token's weight, block by block in the order the walk of DrawAll repeats.
float TotalWeight(const float* logits, int n, float max_logit, float inv_temperature, float weight_floor) {
  float pad[kBlock];
  float w[kBlock];
  float total = 0.0f;
  for (int b = 0; b < n; b += kBlock) {
    total += BlockWeights(Block(logits, n, b, pad), max_logit, inv_temperature, weight_floor, w);
  }
  return total;
}

bool InRange(float value, float lo, float hi) { return value >= lo && value <= hi; }  // false for NaN

// "0.5", "2", "nan": a float as a user would write it.
std::string Num(float value) {
  std::ostringstream out;
  out << value;
  return out.str();
}
std::string Num(int value) { return std::to_string(value); }

}  // namespace

Status ValidateSamplingParams(const SamplingParams& params, int vocab_size, std::string* param) {
  auto fail = [param](const char* name, const std::string& rule) {
    if (param != nullptr) *param = name;
    return Status::InvalidArgument(std::string(name) + " " + rule);
  };
  if (!InRange(params.temperature, 0.0f, 2.0f)) {
    return fail("temperature", "must be between 0 and 2, got " + Num(params.temperature));
  }
  if (!(params.top_p > 0.0f && params.top_p <= 1.0f)) {
    return fail("top_p", "must be greater than 0 and at most 1, got " + Num(params.top_p));
  }
  if (params.top_k < 0) return fail("top_k", "must be 0 (off) or positive, got " + Num(params.top_k));
  if (!InRange(params.min_p, 0.0f, 1.0f)) {
    return fail("min_p", "must be between 0 and 1, got " + Num(params.min_p));
  }
  if (!InRange(params.presence_penalty, -2.0f, 2.0f)) {
    return fail("presence_penalty", "must be between -2 and 2, got " + Num(params.presence_penalty));
  }
  if (!InRange(params.frequency_penalty, -2.0f, 2.0f)) {
    return fail("frequency_penalty", "must be between -2 and 2, got " + Num(params.frequency_penalty));
  }
  if (!(params.repetition_penalty > 0.0f && params.repetition_penalty <= 10.0f)) {
    return fail("repetition_penalty",
                "must be greater than 0 and at most 10 (1 = off), got " + Num(params.repetition_penalty));
  }
  for (const auto& [token, bias] : params.logit_bias) {
    if (token < 0 || token >= vocab_size) {
      return fail("logit_bias",
                  "has token id " + Num(token) + ", outside the vocabulary (0.." + Num(vocab_size - 1) + ")");
    }
    if (!InRange(bias, -100.0f, 100.0f)) {
      return fail("logit_bias", "value for token " + Num(token) + " must be between -100 and 100, got " + Num(bias));
    }
  }
  if (params.top_logprobs < 0 || params.top_logprobs > 20) {
    return fail("top_logprobs", "must be between 0 and 20, got " + Num(params.top_logprobs));
  }
  return Status::Ok();
}

Sampler::Sampler(const SamplingParams& params, int vocab_size, std::span<const int32_t> prompt)
    : params_(params),
      vocab_size_(vocab_size),
      tracks_history_(params.repetition_penalty != 1.0f || params.presence_penalty != 0.0f ||
                      params.frequency_penalty != 0.0f),
      wants_logprobs_(params.logprobs || params.top_logprobs > 0) {
  for (const auto& [token, bias] : params_.logit_bias) {
    if (token >= 0 && token < vocab_size_) bias_.push_back({token, bias});
  }
  // Only the repetition penalty looks at the prompt.
  if (params_.repetition_penalty != 1.0f) {
    for (int32_t token : prompt) {
      if (token >= 0 && token < vocab_size_) history_.try_emplace(token, 0);
    }
  }
}

void Sampler::ApplyPenalties(float* logits) const {
  for (const Candidate& bias : bias_) logits[bias.token] += bias.value;
  if (!tracks_history_) return;
  const float repetition = params_.repetition_penalty;
  const float presence = params_.presence_penalty;
  const float frequency = params_.frequency_penalty;
  // Each token's adjustments touch only its own logit, so the map's order does not matter.
  for (const auto& [token, generated] : history_) {
    float& logit = logits[token];
    if (repetition != 1.0f) logit = logit > 0.0f ? logit / repetition : logit * repetition;
    if (generated > 0) logit -= presence + frequency * static_cast<float>(generated);
  }
}

SampleResult Sampler::Sample(float* logits, RandomSource& rng) {
  ApplyPenalties(logits);

  SampleResult result;
  float log_normaliser = 0.0f;  // log sum_t e^logit[t]: logprob[t] = logit[t] - log_normaliser
  if (wants_logprobs_) {
    const float max_logit = MaxOf(logits, vocab_size_);
    log_normaliser = max_logit + std::log(TotalWeight(logits, vocab_size_, max_logit, 1.0f, 0.0f));
    if (params_.top_logprobs > 0) {
      std::vector<Candidate> top;
      SelectTop(logits, vocab_size_, std::min(params_.top_logprobs, vocab_size_), &top);
      result.top_logprobs.reserve(top.size());
      for (const Candidate& c : top) result.top_logprobs.push_back({c.token, c.value - log_normaliser});
    }
  }

  result.token = params_.temperature == 0.0f ? ArgMax(logits, vocab_size_) : Draw(logits, rng.NextFloat());
  if (wants_logprobs_) {
    const float logit = std::isnan(logits[result.token]) ? -kInf : logits[result.token];
    result.logprob = logit - log_normaliser;
  } else {
    result.logprob = std::numeric_limits<float>::quiet_NaN();
  }
  Record(result.token);
  return result;
}

int32_t Sampler::Draw(const float* logits, float u) {
  const float max_logit = MaxOf(logits, vocab_size_);
  const float inv_temperature = 1.0f / params_.temperature;
  const bool top_k = params_.top_k > 0 && params_.top_k < vocab_size_;
  if (top_k || params_.top_p < 1.0f) return DrawCandidates(logits, max_logit, inv_temperature, u);
  return DrawAll(logits, max_logit, inv_temperature, u);
}

// No top-k, no top-p: no sort. Walks the vocabulary in id order; min_p is a floor on the weights.
int32_t Sampler::DrawAll(const float* logits, float max_logit, float inv_temperature, float u) const {
  const int n = vocab_size_;
  const float weight_floor = std::max(params_.min_p, NegligibleWeight(n));
  const float target = u * TotalWeight(logits, n, max_logit, inv_temperature, weight_floor);
  float pad[kBlock];
  float w[kBlock];
  float cumulative = 0.0f;
  int last_block = -1;  // the last block with weight, for when rounding carries the walk past the end
  for (int b = 0; b < n; b += kBlock) {
    const float* block = Block(logits, n, b, pad);
    const float block_sum = BlockWeights(block, max_logit, inv_temperature, weight_floor, w);
    if (block_sum <= 0.0f) continue;
    last_block = b;
    if (cumulative + block_sum > target) {
      // The same block, now token by token. Rounding may make this serial sum fall just short of the
      // lane sum; then the walk moves on and the next token with weight is the pick.
      float c = cumulative;
      for (int i = 0; i < kBlock; ++i) {
        c += w[i];
        if (c > target && w[i] > 0.0f) return b + i;
      }
    }
    cumulative += block_sum;
  }
  if (last_block < 0) return ArgMax(logits, n);  // no weight anywhere: no logit above -inf
  BlockWeights(Block(logits, n, last_block, pad), max_logit, inv_temperature, weight_floor, w);
  for (int i = kBlock - 1; i >= 0; --i) {
    if (w[i] > 0.0f) return last_block + i;  // padding has weight 0
  }
  return ArgMax(logits, n);  // unreachable: the block had weight
}

// top_k and/or top_p: a candidate list in descending probability, cut by top_p and min_p, then the walk.
int32_t Sampler::DrawCandidates(const float* logits, float max_logit, float inv_temperature, float u) {
  const int n = vocab_size_;
  const float negligible = NegligibleWeight(n);
  float total = 0.0f;  // softmax normaliser over what top_k kept (the whole vocabulary without top_k)
  if (params_.top_k > 0 && params_.top_k < n) {
    SelectTop(logits, n, params_.top_k, &candidates_);
    for (Candidate& c : candidates_) {
      c.value = ExpNonPositive((c.value - max_logit) * inv_temperature);
      total += c.value;
    }
    // Already best first by logit; this settles ties between weights that rounded equal.
    std::sort(candidates_.begin(), candidates_.end(), [](const Candidate& a, const Candidate& b) {
      return a.value > b.value || (a.value == b.value && a.token < b.token);
    });
  } else {
    // top_p alone, with llama2.c's prefilter. Every token below cut = (1 - top_p) / (n - 1) of the mass,
    // the most likely token excepted, sums to less than 1 - top_p, so the tokens at or above it hold more
    // than top_p: the nucleus is among them, and only they need sorting. The most likely token (weight 1)
    // is always kept, even when cut is above it.
    total = TotalWeight(logits, n, max_logit, inv_temperature, 0.0f);
    const float cut = n > 1 ? std::min(1.0f, (1.0f - params_.top_p) / static_cast<float>(n - 1) * total) : 0.0f;
    candidates_.clear();
    float pad[kBlock];
    float w[kBlock];
    for (int b = 0; b < n; b += kBlock) {
      BlockWeights(Block(logits, n, b, pad), max_logit, inv_temperature, 0.0f, w);
      for (int i = 0; i < kBlock; ++i) {
        if (w[i] >= cut && w[i] >= negligible) candidates_.push_back({b + i, w[i]});
      }
    }
    // A flat distribution leaves thousands of candidates (a model with random weights: our benchmarks),
    // which std::sort takes ~0.5 ms over; the radix sort takes a tenth of that.
    SortByWeightDescending(&candidates_, &scratch_);
  }

  size_t keep = candidates_.size();
  if (params_.top_p < 1.0f) {
    const float needed = params_.top_p * total;
    float cumulative = 0.0f;
    for (size_t i = 0; i < candidates_.size(); ++i) {
      cumulative += candidates_[i].value;
      if (cumulative >= needed) {
        keep = i + 1;
        break;
      }
    }
    // Not reached only by rounding: keep every candidate.
  }
  // Weights are relative to the best token's (1), so min_p is a floor on them; the best always stays.
  const float weight_floor = std::max(params_.min_p, negligible);
  while (keep > 1 && candidates_[keep - 1].value < weight_floor) --keep;

  float kept_total = 0.0f;
  for (size_t i = 0; i < keep; ++i) kept_total += candidates_[i].value;
  const float target = u * kept_total;
  float cumulative = 0.0f;
  for (size_t i = 0; i < keep; ++i) {
    cumulative += candidates_[i].value;
    if (cumulative > target && candidates_[i].value > 0.0f) return candidates_[i].token;
  }
  // Rounding carried u past the end: the last candidate with weight.
  for (size_t i = keep; i > 0; --i) {
    if (candidates_[i - 1].value > 0.0f) return candidates_[i - 1].token;
  }
  return ArgMax(logits, n);  // no weight anywhere: no logit above -inf
}

void Sampler::SelectTop(const float* logits, int n, int k, std::vector<Candidate>* out) {
  // A heap of the k best so far whose front is the worst of them; most tokens lose to it at once.
  auto better = [](const Candidate& a, const Candidate& b) {
    return a.value > b.value || (a.value == b.value && a.token < b.token);
  };
  out->clear();
  out->reserve(k);
  for (int i = 0; i < k; ++i) out->push_back({i, std::isnan(logits[i]) ? -kInf : logits[i]});
  std::make_heap(out->begin(), out->end(), better);
  float worst = out->front().value;
  for (int i = k; i < n; ++i) {
    // Ties with the worst lose: they come later, so they have the higher id.
    if (!(logits[i] > worst)) continue;
    std::pop_heap(out->begin(), out->end(), better);
    out->back() = {i, logits[i]};
    std::push_heap(out->begin(), out->end(), better);
    worst = out->front().value;
  }
  std::sort_heap(out->begin(), out->end(), better);
}

void Sampler::SortByWeightDescending(std::vector<Candidate>* items, std::vector<Candidate>* scratch) {
  // An LSD radix sort on the weights' bits, which for positive floats order as the floats do. Weights are
  // in [2^-55, 1] (at least NegligibleWeight(vocab_size < 2^31)), so the bits of 1.0f minus a weight's bits,
  // which grow as the weight falls, fit in 30 bits: three passes of 10. Each pass is stable, so ties keep
  // the id order they came in.
  constexpr int kDigitBits = 10;
  constexpr uint32_t kDigits = 1u << kDigitBits;
  const uint32_t one = std::bit_cast<uint32_t>(1.0f);
  auto key = [one](const Candidate& c) {
    const uint32_t bits = std::bit_cast<uint32_t>(c.value);
    return bits >= one ? 0u : one - bits;
  };
  scratch->resize(items->size());
  for (int shift = 0; shift < 3 * kDigitBits; shift += kDigitBits) {
    uint32_t start[kDigits + 1] = {};  // start[d] = where digit d's run begins
    for (const Candidate& c : *items) ++start[((key(c) >> shift) & (kDigits - 1)) + 1];
    for (uint32_t d = 1; d <= kDigits; ++d) start[d] += start[d - 1];
    for (const Candidate& c : *items) (*scratch)[start[(key(c) >> shift) & (kDigits - 1)]++] = c;
    items->swap(*scratch);
  }
}

void Sampler::Record(int32_t token) {
  ++generated_;
  if (tracks_history_) ++history_[token];
}

}  // namespace fpgaserve
