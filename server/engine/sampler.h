// Sampler: turns one row of logits into the next token of one sequence.
//
// One Sampler per sequence, created when the sequence starts and used by the card worker after every step
// that produced logits for it. It holds the request's sampling parameters and the token history the
// penalties need (prompt + generated); the randomness comes from outside (the sequence's Rng), so a test or
// a seeded request gets the same tokens whatever else runs on the card.
//
// Processing order of Sample(), each stage on the output of the previous one:
//   1. logit_bias            logit[t] += bias[t]
//   2. repetition_penalty    for t in prompt + generated: logit[t] > 0 ? logit[t] / p : logit[t] * p
//   3. presence / frequency  for t generated n > 0 times: logit[t] -= presence + frequency * n
//      -> the *processed logits*. Logprobs are the log-softmax of these at temperature 1 (see SampleResult).
//   4. temperature == 0      greedy: the highest processed logit, the lowest id on ties. No random draw.
//   otherwise (exactly one random draw, whatever the other parameters):
//   5. logit /= temperature
//   6. top_k                 keep the k highest logits (ties: lowest ids)
//   7. softmax               over the remaining tokens
//   8. top_p                 keep the smallest prefix, in descending probability (ties: lowest id first),
//                            whose probability sums to >= top_p
//   9. min_p                 drop tokens whose probability < min_p * the highest probability
//  10. renormalise, and pick by inverse CDF with one float u from the RandomSource: the first token at which
//      the running sum of probabilities exceeds u. The tokens are walked in descending probability (ties:
//      lowest id) when top_k or top_p is active, and in id order otherwise (which spares a sort of the whole
//      vocabulary). A token less likely than 2^-24 / vocab_size times the most likely one is never picked:
//      such tokens together hold less than one step of the 24-bit random float.
//
// Threading: a Sampler is not thread-safe; one thread at a time (the card worker of its sequence).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "server/engine/rng.h"

namespace fpgaserve {

// A request's sampling parameters, OpenAI names and meanings unless said otherwise. The defaults change
// nothing: plain sampling from the model's distribution at temperature 1.
struct SamplingParams {
  float temperature = 1.0f;  // 0 = greedy (argmax)
  int top_k = 0;             // 0 = off; >= vocab_size changes nothing (not an OpenAI parameter; vLLM's)
  float top_p = 1.0f;        // 1 = off
  float min_p = 0.0f;        // 0 = off (vLLM's)
  // The Rng seed. Absent: the caller seeds the sequence's Rng with Rng::RandomSeed(). The Sampler itself
  // never reads it; it is here because it arrives with the other parameters.
  std::optional<uint64_t> seed;
  float presence_penalty = 0.0f;   // subtracted once from every token generated so far
  float frequency_penalty = 0.0f;  // subtracted once per occurrence among the generated tokens
  // HF / llama.cpp semantics over every token of the prompt and of the output so far (the whole history,
  // not a last-n window): positive logits divided by it, negative ones multiplied. 1 = off.
  float repetition_penalty = 1.0f;
  std::map<int32_t, float> logit_bias;  // token id -> added to its logit; -100 bans, +100 forces
  // Report the chosen token's logprob. The chat API's `logprobs: true`; the HTTP layer maps the legacy
  // completions API's integer `logprobs: n` to logprobs = true, top_logprobs = n.
  bool logprobs = false;
  int top_logprobs = 0;  // 0..20 most likely tokens to report with each token; > 0 implies logprobs
};

// Checks params against the OpenAI ranges: temperature [0, 2], top_p (0, 1], top_k >= 0, min_p [0, 1],
// presence_penalty and frequency_penalty [-2, 2], repetition_penalty (0, 10], logit_bias keys in
// [0, vocab_size) and values [-100, 100], top_logprobs [0, 20]. NaN is out of every range.
// Returns OK, or InvalidArgument whose message starts with the parameter's name ("top_p must be ...").
// On failure, when param is not null, *param is set to that name as the OpenAI error's `param` field
// spells it ("temperature", "top_p", "top_k", "min_p", "presence_penalty", "frequency_penalty",
// "repetition_penalty", "logit_bias", "top_logprobs"); it is left alone on success.
Status ValidateSamplingParams(const SamplingParams& params, int vocab_size, std::string* param = nullptr);

struct TokenLogprob {
  int32_t token = 0;
  float logprob = 0.0f;
};

struct SampleResult {
  int32_t token = 0;
  // log P(token) under the softmax of the processed logits (stage 3) at temperature 1: the model's
  // distribution as bias and penalties left it, before temperature and truncation. OpenAI reports the
  // model's log-probabilities; this is that, with the request's own bias and penalties in (so a banned
  // token shows as banned), and it does not move with temperature, top_k, top_p or min_p.
  // NaN unless params.logprobs or params.top_logprobs > 0.
  float logprob = 0.0f;
  // The params.top_logprobs most likely tokens of that same distribution, by descending logprob (ties:
  // lowest id first). Empty unless top_logprobs > 0. The chosen token may or may not be among them.
  std::vector<TokenLogprob> top_logprobs;
};

class Sampler {
 public:
  // REQUIRES: ValidateSamplingParams(params, vocab_size) is OK; vocab_size > 0. prompt is copied into the
  // history where a penalty needs it; ids outside [0, vocab_size) in it are ignored.
  Sampler(const SamplingParams& params, int vocab_size, std::span<const int32_t> prompt);

  // Picks the next token from logits (vocab_size floats, the model's output for this sequence), applying
  // the stages listed at the top of this file, and records the token in the history (the penalties of
  // the next call see it). Draws exactly one float from rng when temperature > 0 and none when it is 0.
  // On return logits holds the processed logits (stage 3); temperature and truncation are never written
  // back. Non-finite logits do not fail: a -inf or NaN logit is never picked while a finite one exists,
  // and when no token can be weighed (every logit -inf or NaN, or one +inf) the greedy choice is returned.
  // logits is not retained after the call.
  SampleResult Sample(float* logits, RandomSource& rng);

  // Stages 1-3 alone, in place: what Sample() starts with. Does not change the history.
  void ApplyPenalties(float* logits) const;

  const SamplingParams& params() const { return params_; }
  int vocab_size() const { return vocab_size_; }
  // Tokens generated (returned by Sample) so far.
  int64_t generated() const { return generated_; }

 private:
  // A (token, value) pair: value is a logit or a probability weight depending on the stage.
  struct Candidate {
    int32_t token;
    float value;
  };

  // Stages 5-10 with the random float u.
  int32_t Draw(const float* logits, float u);
  int32_t DrawAll(const float* logits, float max_logit, float inv_temperature, float u) const;
  int32_t DrawCandidates(const float* logits, float max_logit, float inv_temperature, float u);
  void Record(int32_t token);

  // The k tokens with the highest logits into *out, best first (ties: lowest id), NaN counted as -inf.
  // REQUIRES: 0 < k <= n.
  static void SelectTop(const float* logits, int n, int k, std::vector<Candidate>* out);
  // Sorts *items, in id order on entry and with weights in (0, 1], by descending weight, ties by id, in
  // linear time; scratch is resized to match.
  static void SortByWeightDescending(std::vector<Candidate>* items, std::vector<Candidate>* scratch);

  // Constant after construction (not declared const so that a Sampler stays movable).
  SamplingParams params_;
  int vocab_size_;
  bool tracks_history_;  // a penalty is active
  bool wants_logprobs_;
  std::vector<Candidate> bias_;  // params_.logit_bias as a flat list, ids in range

  // Mutated by Sample().
  // Every token of the history a penalty looks at -> times generated (0: seen in the prompt only). Empty
  // unless tracks_history_.
  std::unordered_map<int32_t, int32_t> history_;
  int64_t generated_ = 0;
  // Scratch for top-k / top-p, kept to avoid an allocation per token; they grow to the largest candidate
  // list seen (the whole vocabulary at worst, for a flat distribution under top_p).
  std::vector<Candidate> candidates_;
  std::vector<Candidate> scratch_;
};

}  // namespace fpgaserve
