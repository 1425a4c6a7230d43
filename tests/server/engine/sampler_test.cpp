// Sampler and Rng: every test uses fixed logits and either a chosen random float (FixedRandom) or a seeded
// Rng, so no test depends on chance.
#include "server/engine/sampler.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <iostream>
#include <limits>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "server/engine/rng.h"

namespace fpgaserve {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

// Returns the same chosen float on every call and counts the calls.
class FixedRandom final : public RandomSource {
 public:
  explicit FixedRandom(float u) : u_(u) {}
  float NextFloat() override {
    ++calls_;
    return u_;
  }
  void set(float u) { u_ = u; }
  int calls() const { return calls_; }

 private:
  float u_;
  int calls_ = 0;
};

// Logits uniform in [-spread, spread], from a seeded Rng so that they are the same on every platform.
std::vector<float> RandomLogits(int n, uint64_t seed, float spread = 4.0f) {
  Rng rng(seed);
  std::vector<float> logits(n);
  for (float& l : logits) l = (rng.NextFloat() * 2.0f - 1.0f) * spread;
  return logits;
}

std::vector<float> LogOf(const std::vector<double>& probs) {
  std::vector<float> logits;
  for (double p : probs) logits.push_back(static_cast<float>(std::log(p)));
  return logits;
}

// One sample from a fresh sampler (empty history) with the random float u.
int32_t SampleOnce(const SamplingParams& params, std::vector<float> logits, float u) {
  Sampler sampler(params, static_cast<int>(logits.size()), {});
  FixedRandom random(u);
  return sampler.Sample(logits.data(), random).token;
}

// How often each token comes out for u on a regular grid of n points in (0, 1): an exact picture of the
// inverse CDF, each frequency within 1/n of the token's probability.
std::vector<double> GridFrequencies(const SamplingParams& params, const std::vector<float>& logits, int n) {
  std::vector<double> freq(logits.size(), 0.0);
  for (int i = 0; i < n; ++i) {
    freq[SampleOnce(params, logits, (static_cast<float>(i) + 0.5f) / static_cast<float>(n))] += 1.0 / n;
  }
  return freq;
}

// The documented pipeline (stages 5-10) in double precision with full sorts: the tokens that can be
// drawn, in the order the walk visits them, with their renormalised probabilities.
std::vector<std::pair<int, double>> ReferenceKept(const SamplingParams& params, const std::vector<float>& logits) {
  const int n = static_cast<int>(logits.size());
  std::vector<int> ids(n);
  std::iota(ids.begin(), ids.end(), 0);
  const bool top_k = params.top_k > 0 && params.top_k < n;
  if (top_k) {
    std::sort(ids.begin(), ids.end(),
              [&](int a, int b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); });
    ids.resize(params.top_k);
  }
  double max_logit = -1e300;
  for (int id : ids) max_logit = std::max(max_logit, static_cast<double>(logits[id]));
  std::vector<double> p(n, 0.0);
  double z = 0.0;
  for (int id : ids) z += p[id] = std::exp((logits[id] - max_logit) / params.temperature);
  for (int id : ids) p[id] /= z;
  const bool sorted = top_k || params.top_p < 1.0f;
  if (sorted) {
    std::sort(ids.begin(), ids.end(), [&](int a, int b) { return p[a] > p[b] || (p[a] == p[b] && a < b); });
  } else {
    std::sort(ids.begin(), ids.end());
  }
  if (params.top_p < 1.0f) {
    double cumulative = 0.0;
    size_t keep = ids.size();
    for (size_t i = 0; i < ids.size(); ++i) {
      cumulative += p[ids[i]];
      if (cumulative >= params.top_p) {
        keep = i + 1;
        break;
      }
    }
    ids.resize(keep);
  }
  double p_max = 0.0;
  for (int id : ids) p_max = std::max(p_max, p[id]);
  std::vector<std::pair<int, double>> kept;
  double kept_total = 0.0;
  for (int id : ids) {
    if (p[id] >= params.min_p * p_max) {
      kept.push_back({id, p[id]});
      kept_total += p[id];
    }
  }
  for (auto& [id, prob] : kept) prob /= kept_total;
  return kept;
}

// log-softmax at temperature 1, in double.
std::vector<double> LogSoftmax(const std::vector<float>& logits) {
  double max_logit = -1e300;
  for (float l : logits) max_logit = std::max(max_logit, static_cast<double>(l));
  double z = 0.0;
  for (float l : logits) z += std::exp(l - max_logit);
  std::vector<double> out;
  for (float l : logits) out.push_back(l - max_logit - std::log(z));
  return out;
}

// ---------------------------------------------------------------------------------------------- Rng

TEST(RngTest, SameSeedGivesSameStream) {
  Rng a(42), b(42);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(a.NextU64(), b.NextU64());
}

TEST(RngTest, DifferentSeedsGiveDifferentStreams) {
  Rng a(1), b(2);
  int equal = 0;
  for (int i = 0; i < 100; ++i) equal += a.NextU64() == b.NextU64();
  EXPECT_EQ(equal, 0);
}

// Pins the generator: a seeded request must get the same tokens after an upgrade. The values come from an
// independent transcription of the reference splitmix64 and xoshiro256** (Python, 64-bit masks).
TEST(RngTest, MatchesReferenceXoshiro256StarStarSeededBySplitMix64) {
  Rng rng(0);
  EXPECT_EQ(rng.NextU64(), 0x99ec5f36cb75f2b4ULL);
  EXPECT_EQ(rng.NextU64(), 0xbf6e1f784956452aULL);
  EXPECT_EQ(rng.NextU64(), 0x1a5f849d4933e6e0ULL);
}

TEST(RngTest, NextFloatIsInUnitIntervalAndUniform) {
  Rng rng(7);
  double sum = 0.0;
  int below_quarter = 0;
  constexpr int kDraws = 100000;
  for (int i = 0; i < kDraws; ++i) {
    const float u = rng.NextFloat();
    ASSERT_GE(u, 0.0f);
    ASSERT_LT(u, 1.0f);
    sum += u;
    below_quarter += u < 0.25f;
  }
  EXPECT_NEAR(sum / kDraws, 0.5, 0.01);
  EXPECT_NEAR(static_cast<double>(below_quarter) / kDraws, 0.25, 0.01);
}

TEST(RngTest, CopyContinuesTheStreamIndependently) {
  Rng a(9);
  a.NextU64();
  Rng b = a;
  std::vector<uint64_t> from_a, from_b;
  for (int i = 0; i < 10; ++i) from_a.push_back(a.NextU64());
  for (int i = 0; i < 10; ++i) from_b.push_back(b.NextU64());
  EXPECT_EQ(from_a, from_b);
}

// ------------------------------------------------------------------------------------------- greedy

TEST(SamplerTest, GreedyPicksTheHighestLogit) {
  SamplingParams params;
  params.temperature = 0.0f;
  EXPECT_EQ(SampleOnce(params, {1.0f, 5.0f, 3.0f, -2.0f}, 0.5f), 1);
  const std::vector<float> logits = RandomLogits(32000, 3);
  const auto best = std::max_element(logits.begin(), logits.end()) - logits.begin();
  EXPECT_EQ(SampleOnce(params, logits, 0.5f), best);
}

TEST(SamplerTest, GreedyBreaksTiesByLowestId) {
  SamplingParams params;
  params.temperature = 0.0f;
  EXPECT_EQ(SampleOnce(params, {1.0f, 5.0f, 2.0f, 5.0f, 5.0f}, 0.5f), 1);
  EXPECT_EQ(SampleOnce(params, std::vector<float>(1000, 0.0f), 0.5f), 0);
}

TEST(SamplerTest, GreedyDrawsNoRandomNumber) {
  SamplingParams params;
  params.temperature = 0.0f;
  params.top_p = 0.5f;
  Sampler sampler(params, 4, {});
  FixedRandom random(0.5f);
  for (int i = 0; i < 5; ++i) {
    std::vector<float> logits = {1.0f, 2.0f, 3.0f, 4.0f};
    sampler.Sample(logits.data(), random);
  }
  EXPECT_EQ(random.calls(), 0);
}

TEST(SamplerTest, NonGreedyDrawsExactlyOneRandomNumberWhateverTheParameters) {
  std::vector<std::function<void(SamplingParams&)>> variants = {
      [](SamplingParams&) {},
      [](SamplingParams& p) { p.top_k = 1; },
      [](SamplingParams& p) { p.top_k = 5; },
      [](SamplingParams& p) { p.top_p = 0.01f; },
      [](SamplingParams& p) { p.min_p = 1.0f; },
      [](SamplingParams& p) {
        p.top_k = 3;
        p.top_p = 0.5f;
        p.min_p = 0.2f;
        p.temperature = 0.3f;
      },
      [](SamplingParams& p) {
        p.top_logprobs = 5;
        p.presence_penalty = 1.0f;
        p.repetition_penalty = 1.3f;
      },
  };
  for (size_t v = 0; v < variants.size(); ++v) {
    SamplingParams params;
    variants[v](params);
    Sampler sampler(params, 100, {});
    FixedRandom random(0.3f);
    for (int i = 0; i < 7; ++i) {
      std::vector<float> logits = RandomLogits(100, i);
      sampler.Sample(logits.data(), random);
    }
    EXPECT_EQ(random.calls(), 7) << "variant " << v;
  }
}

// ---------------------------------------------------------------------------------------- temperature

TEST(SamplerTest, InverseCdfMatchesTheSoftmaxExactly) {
  const std::vector<float> logits = LogOf({0.1, 0.2, 0.3, 0.4});
  SamplingParams params;
  const std::vector<double> freq = GridFrequencies(params, logits, 1000);
  for (int t = 0; t < 4; ++t) EXPECT_NEAR(freq[t], 0.1 * (t + 1), 0.0011) << "token " << t;
  // The walk is in id order without top_k / top_p: u = 0 gives the first token, u -> 1 the last.
  EXPECT_EQ(SampleOnce(params, logits, 0.0f), 0);
  EXPECT_EQ(SampleOnce(params, logits, 0.0999f), 0);
  EXPECT_EQ(SampleOnce(params, logits, 0.1001f), 1);
  EXPECT_EQ(SampleOnce(params, logits, 0.999f), 3);
  EXPECT_EQ(SampleOnce(params, logits, std::nextafter(1.0f, 0.0f)), 3);
}

TEST(SamplerTest, TemperatureSharpensOrFlattensTheDistribution) {
  // Probabilities 1/8, 2/8, 5/8 at T = 1; at temperature T they go as p^(1/T).
  const std::vector<float> logits = LogOf({1.0, 2.0, 5.0});
  for (float temperature : {0.5f, 1.0f, 2.0f}) {
    std::vector<double> expected = {std::pow(1.0, 1.0 / temperature), std::pow(2.0, 1.0 / temperature),
                                    std::pow(5.0, 1.0 / temperature)};
    const double z = expected[0] + expected[1] + expected[2];
    for (double& e : expected) e /= z;

    SamplingParams params;
    params.temperature = temperature;
    // Exact: a grid of u.
    const std::vector<double> grid = GridFrequencies(params, logits, 2000);
    // Empirical: a seeded Rng, 20000 draws; the standard deviation of a frequency is <= 0.0036, and
    // the seed is fixed, so the tolerance below cannot flake.
    Sampler sampler(params, 3, {});
    Rng rng(2024);
    std::vector<double> drawn(3, 0.0);
    constexpr int kDraws = 20000;
    for (int i = 0; i < kDraws; ++i) {
      std::vector<float> l = logits;
      drawn[sampler.Sample(l.data(), rng).token] += 1.0 / kDraws;
    }
    for (int t = 0; t < 3; ++t) {
      EXPECT_NEAR(grid[t], expected[t], 0.0006) << "T " << temperature << " token " << t;
      EXPECT_NEAR(drawn[t], expected[t], 0.015) << "T " << temperature << " token " << t;
    }
  }
}

// ------------------------------------------------------------------------------------ top-k / top-p / min-p

TEST(SamplerTest, TopKOfOneEqualsGreedy) {
  SamplingParams greedy;
  greedy.temperature = 0.0f;
  SamplingParams top1;
  top1.top_k = 1;
  top1.temperature = 1.5f;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    const std::vector<float> logits = RandomLogits(500, seed);
    const int32_t expected = SampleOnce(greedy, logits, 0.0f);
    for (float u : {0.0f, 0.5f, 0.999f}) EXPECT_EQ(SampleOnce(top1, logits, u), expected);
  }
}

TEST(SamplerTest, TopKKeepsTheKHighestLogitsTiesByLowestId) {
  SamplingParams params;
  params.top_k = 2;
  // Token 1 and token 3 tie for second place: token 1 is kept.
  const std::vector<float> logits = {3.0f, 1.0f, 0.0f, 1.0f, -1.0f};
  EXPECT_EQ(SampleOnce(params, logits, 0.0f), 0);  // walk in descending probability
  EXPECT_EQ(SampleOnce(params, logits, 0.999f), 1);
  const std::vector<double> freq = GridFrequencies(params, logits, 1000);
  const double p0 = std::exp(3.0) / (std::exp(3.0) + std::exp(1.0));
  EXPECT_NEAR(freq[0], p0, 0.0011);
  EXPECT_NEAR(freq[1], 1.0 - p0, 0.0011);
  EXPECT_EQ(freq[2] + freq[3] + freq[4], 0.0);
}

TEST(SamplerTest, TopPKeepsTheSmallestNucleus) {
  // Probabilities by id: 0.3, 0.05, 0.5, 0.15. Descending: 2 (0.5), 0 (0.3), 3 (0.15), 1 (0.05).
  const std::vector<float> logits = LogOf({0.3, 0.05, 0.5, 0.15});
  struct Case {
    float top_p;
    std::set<int> kept;
    int last;  // the least likely kept token, what u = 0.999 picks
  };
  for (const Case& c :
       {Case{0.4f, {2}, 2}, Case{0.75f, {2, 0}, 0}, Case{0.85f, {2, 0, 3}, 3}, Case{0.99f, {2, 0, 3, 1}, 1}}) {
    SamplingParams params;
    params.top_p = c.top_p;
    EXPECT_EQ(SampleOnce(params, logits, 0.0f), 2) << "top_p " << c.top_p;
    EXPECT_EQ(SampleOnce(params, logits, 0.999f), c.last) << "top_p " << c.top_p;
    const std::vector<double> freq = GridFrequencies(params, logits, 1000);
    double kept_mass = 0.0;
    for (int t : c.kept) kept_mass += std::exp(logits[t]);
    for (int t = 0; t < 4; ++t) {
      const double expected = c.kept.count(t) ? std::exp(logits[t]) / kept_mass : 0.0;
      EXPECT_NEAR(freq[t], expected, 0.0011) << "top_p " << c.top_p << " token " << t;
    }
  }
}

TEST(SamplerTest, TopPBreaksProbabilityTiesByLowestId) {
  // Four equal tokens: top_p 0.5 keeps the two lowest ids.
  SamplingParams params;
  params.top_p = 0.5f;
  const std::vector<float> logits(4, 0.0f);
  EXPECT_EQ(SampleOnce(params, logits, 0.0f), 0);
  EXPECT_EQ(SampleOnce(params, logits, 0.999f), 1);
}

TEST(SamplerTest, MinPDropsTokensBelowAFractionOfTheBest) {
  // Probabilities by id: 0.05, 0.5, 0.15, 0.3. min_p 0.25 drops what is below 0.125: token 0.
  const std::vector<float> logits = LogOf({0.05, 0.5, 0.15, 0.3});
  SamplingParams params;
  params.min_p = 0.25f;
  EXPECT_EQ(SampleOnce(params, logits, 0.0f), 1);  // id order: token 0 is gone
  EXPECT_EQ(SampleOnce(params, logits, 0.999f), 3);
  const std::vector<double> freq = GridFrequencies(params, logits, 1000);
  EXPECT_EQ(freq[0], 0.0);
  EXPECT_NEAR(freq[1], 0.5 / 0.95, 0.0011);
  EXPECT_NEAR(freq[2], 0.15 / 0.95, 0.0011);
  EXPECT_NEAR(freq[3], 0.3 / 0.95, 0.0011);
  // min_p 1 keeps only the best.
  params.min_p = 1.0f;
  EXPECT_EQ(SampleOnce(params, logits, 0.0f), 1);
  EXPECT_EQ(SampleOnce(params, logits, 0.999f), 1);
}

// Every combination against the double-precision reference: the u in the middle of each kept token's
// interval picks that token, and no u picks a token the reference dropped.
TEST(SamplerTest, MatchesTheReferencePipelineForEveryCombination) {
  const std::vector<float> temperatures = {0.3f, 1.0f, 1.7f};
  const std::vector<int> top_ks = {0, 1, 7, 60, 1000};
  const std::vector<float> top_ps = {1.0f, 0.9f, 0.5f, 0.05f};
  const std::vector<float> min_ps = {0.0f, 0.05f, 0.3f};
  const int n = 700;  // spans blocks, not a multiple of any
  for (uint64_t seed = 0; seed < 3; ++seed) {
    const std::vector<float> logits = RandomLogits(n, 100 + seed, 3.0f);
    for (float temperature : temperatures) {
      for (int top_k : top_ks) {
        for (float top_p : top_ps) {
          for (float min_p : min_ps) {
            SamplingParams params;
            params.temperature = temperature;
            params.top_k = top_k;
            params.top_p = top_p;
            params.min_p = min_p;
            const auto kept = ReferenceKept(params, logits);
            const std::string label = "seed " + std::to_string(seed) + " T " + std::to_string(temperature) + " k " +
                                      std::to_string(top_k) + " p " + std::to_string(top_p) + " min_p " +
                                      std::to_string(min_p);
            double cdf = 0.0;
            for (const auto& [token, prob] : kept) {
              if (prob > 1e-4) {
                EXPECT_EQ(SampleOnce(params, logits, static_cast<float>(cdf + prob / 2)), token) << label;
              }
              cdf += prob;
            }
            std::set<int> kept_ids;
            for (const auto& [token, prob] : kept) kept_ids.insert(token);
            for (float u : {0.0f, 0.25f, 0.5f, 0.75f, 0.9999f}) {
              EXPECT_TRUE(kept_ids.count(SampleOnce(params, logits, u))) << label << " u " << u;
            }
          }
        }
      }
    }
  }
}

// ----------------------------------------------------------------------------------------- penalties

TEST(SamplerTest, RepetitionPenaltyDividesPositiveAndMultipliesNegativeLogitsOfSeenTokens) {
  SamplingParams params;
  params.repetition_penalty = 2.0f;
  const std::vector<int32_t> prompt = {1, 2, 2};
  Sampler sampler(params, 4, prompt);
  std::vector<float> logits = {3.0f, 3.0f, -3.0f, -3.0f};
  sampler.ApplyPenalties(logits.data());
  EXPECT_EQ(logits, (std::vector<float>{3.0f, 1.5f, -6.0f, -3.0f}));
  // Once per token, however often it was seen; ApplyPenalties itself records nothing.
  std::vector<float> again = {3.0f, 3.0f, -3.0f, -3.0f};
  sampler.ApplyPenalties(again.data());
  EXPECT_EQ(again, logits);
}

TEST(SamplerTest, RepetitionPenaltyCoversGeneratedTokens) {
  SamplingParams params;
  params.temperature = 0.0f;
  params.repetition_penalty = 2.0f;
  Sampler sampler(params, 3, {});
  FixedRandom random(0.5f);
  std::vector<float> logits = {0.0f, 0.0f, 4.0f};
  EXPECT_EQ(sampler.Sample(logits.data(), random).token, 2);
  logits = {1.0f, 1.0f, 4.0f};
  sampler.ApplyPenalties(logits.data());
  EXPECT_EQ(logits, (std::vector<float>{1.0f, 1.0f, 2.0f}));
}

TEST(SamplerTest, PresenceAndFrequencyPenaltiesCountGeneratedTokensOnly) {
  SamplingParams params;
  params.temperature = 0.0f;
  params.presence_penalty = 0.5f;
  params.frequency_penalty = 0.25f;
  const std::vector<int32_t> prompt = {0, 0, 0};
  Sampler sampler(params, 4, prompt);
  FixedRandom random(0.5f);
  // Generate 3, 3, 2 by making each the clear maximum.
  for (int32_t forced : {3, 3, 2}) {
    std::vector<float> logits(4, 0.0f);
    logits[forced] = 50.0f;
    ASSERT_EQ(sampler.Sample(logits.data(), random).token, forced);
  }
  EXPECT_EQ(sampler.generated(), 3);
  std::vector<float> logits(4, 1.0f);
  sampler.ApplyPenalties(logits.data());
  EXPECT_FLOAT_EQ(logits[0], 1.0f);                       // in the prompt only: untouched
  EXPECT_FLOAT_EQ(logits[1], 1.0f);                       // never seen
  EXPECT_FLOAT_EQ(logits[2], 1.0f - (0.5f + 0.25f * 1));  // generated once
  EXPECT_FLOAT_EQ(logits[3], 1.0f - (0.5f + 0.25f * 2));  // generated twice
}

TEST(SamplerTest, NegativePresenceAndFrequencyPenaltiesEncourageRepeats) {
  SamplingParams params;
  params.temperature = 0.0f;
  params.presence_penalty = -1.0f;
  params.frequency_penalty = -2.0f;
  Sampler sampler(params, 2, {});
  FixedRandom random(0.5f);
  std::vector<float> logits = {0.0f, 1.0f};
  ASSERT_EQ(sampler.Sample(logits.data(), random).token, 1);
  logits = {0.0f, 0.0f};
  sampler.ApplyPenalties(logits.data());
  EXPECT_FLOAT_EQ(logits[1], 3.0f);
}

TEST(SamplerTest, StagesApplyInTheDocumentedOrder) {
  // Token 0: bias +2 then repetition /2 then presence -1: (4 + 2) / 2 - 1 = 2.
  // Any other order gives something else: 4 / 2 + 2 - 1 = 3, (4 + 2 - 1) / 2 = 2.5, ...
  SamplingParams params;
  params.temperature = 0.0f;
  params.logit_bias = {{0, 2.0f}};
  params.repetition_penalty = 2.0f;
  params.presence_penalty = 1.0f;
  Sampler sampler(params, 2, {});
  FixedRandom random(0.5f);
  std::vector<float> logits = {100.0f, 0.0f};
  ASSERT_EQ(sampler.Sample(logits.data(), random).token, 0);
  logits = {4.0f, 0.0f};
  sampler.ApplyPenalties(logits.data());
  EXPECT_FLOAT_EQ(logits[0], 2.0f);
  EXPECT_FLOAT_EQ(logits[1], 0.0f);
}

TEST(SamplerTest, SampleLeavesTheProcessedLogitsWithoutTemperature) {
  SamplingParams params;
  params.temperature = 0.5f;
  params.top_k = 2;
  params.top_p = 0.5f;
  params.logit_bias = {{1, -1.0f}};
  Sampler sampler(params, 3, {});
  FixedRandom random(0.5f);
  std::vector<float> logits = {1.0f, 2.0f, 3.0f};
  sampler.Sample(logits.data(), random);
  EXPECT_EQ(logits, (std::vector<float>{1.0f, 1.0f, 3.0f}));
}

TEST(SamplerTest, LogitBiasOfMinus100BansAToken) {
  // Token 0 is the best by far, and u = 0 would pick it (first in both walk orders); -100 bans it at
  // every temperature and with every truncation.
  std::vector<float> logits = RandomLogits(300, 5, 2.0f);
  logits[0] = 8.0f;
  for (float temperature : {0.0f, 0.5f, 1.0f, 2.0f}) {
    for (int top_k : {0, 10}) {
      for (float top_p : {1.0f, 0.9f}) {
        SamplingParams params;
        params.temperature = temperature;
        params.top_k = top_k;
        params.top_p = top_p;
        params.logit_bias = {{0, -100.0f}};
        for (float u : {0.0f, 0.3f, 0.999f}) EXPECT_NE(SampleOnce(params, logits, u), 0) << temperature;
      }
    }
  }
}

TEST(SamplerTest, LogitBiasOfPlus100ForcesAToken) {
  std::vector<float> logits = RandomLogits(300, 6, 4.0f);
  for (float temperature : {0.0f, 0.5f, 1.0f, 2.0f}) {
    for (int top_k : {0, 10}) {
      for (float top_p : {1.0f, 0.9f}) {
        SamplingParams params;
        params.temperature = temperature;
        params.top_k = top_k;
        params.top_p = top_p;
        params.logit_bias = {{150, 100.0f}};
        for (float u : {0.0f, 0.3f, 0.999f, std::nextafter(1.0f, 0.0f)}) {
          EXPECT_EQ(SampleOnce(params, logits, u), 150) << temperature;
        }
      }
    }
  }
}

TEST(SamplerTest, NegativeInfinityAndNanLogitsAreNeverPicked) {
  for (int top_k : {0, 3}) {
    for (float top_p : {1.0f, 0.9f}) {
      SamplingParams params;
      params.top_k = top_k;
      params.top_p = top_p;
      const std::vector<float> logits = {-kInf, std::nanf(""), 1.0f, -kInf, 0.5f, std::nanf("")};
      for (float u : {0.0f, 0.5f, 0.999f}) {
        const int32_t token = SampleOnce(params, logits, u);
        EXPECT_TRUE(token == 2 || token == 4) << token;
      }
    }
  }
  SamplingParams params;
  EXPECT_EQ(SampleOnce(params, std::vector<float>(10, -kInf), 0.5f), 0);
}

// ---------------------------------------------------------------------------------- seeds and streams

// Runs a sampler over a fixed sequence of logits rows; returns the tokens.
std::vector<int32_t> Generate(const SamplingParams& params, uint64_t seed, int steps) {
  const std::vector<int32_t> prompt = {5, 6, 7};
  Sampler sampler(params, 64, prompt);
  Rng rng(seed);
  std::vector<int32_t> tokens;
  for (int i = 0; i < steps; ++i) {
    std::vector<float> logits = RandomLogits(64, 1000 + i);
    tokens.push_back(sampler.Sample(logits.data(), rng).token);
  }
  return tokens;
}

SamplingParams BusyParams() {
  SamplingParams params;
  params.temperature = 0.9f;
  params.top_p = 0.95f;
  params.top_k = 40;
  params.presence_penalty = 0.4f;
  params.frequency_penalty = 0.2f;
  params.repetition_penalty = 1.1f;
  return params;
}

TEST(SamplerTest, SameSeedGivesSameTokens) {
  for (const SamplingParams& params : {SamplingParams{}, BusyParams()}) {
    EXPECT_EQ(Generate(params, 42, 200), Generate(params, 42, 200));
    EXPECT_NE(Generate(params, 42, 200), Generate(params, 43, 200));
  }
}

TEST(SamplerTest, InterleavedSamplersGiveTheSameStreamsAsEachAlone) {
  const SamplingParams params = BusyParams();
  const std::vector<int32_t> alone_a = Generate(params, 1, 100);
  const std::vector<int32_t> alone_b = Generate(params, 2, 100);

  const std::vector<int32_t> prompt = {5, 6, 7};
  Sampler a(params, 64, prompt), b(params, 64, prompt);
  Rng rng_a(1), rng_b(2);
  std::vector<int32_t> together_a, together_b;
  for (int i = 0; i < 100; ++i) {
    std::vector<float> logits = RandomLogits(64, 1000 + i);
    together_a.push_back(a.Sample(logits.data(), rng_a).token);
    logits = RandomLogits(64, 1000 + i);
    together_b.push_back(b.Sample(logits.data(), rng_b).token);
  }
  EXPECT_EQ(together_a, alone_a);
  EXPECT_EQ(together_b, alone_b);
}

// ------------------------------------------------------------------------------------------ logprobs

TEST(SamplerTest, LogprobsAreNanAndEmptyUnlessRequested) {
  SamplingParams params;
  Sampler sampler(params, 8, {});
  FixedRandom random(0.5f);
  std::vector<float> logits = RandomLogits(8, 1);
  const SampleResult result = sampler.Sample(logits.data(), random);
  EXPECT_TRUE(std::isnan(result.logprob));
  EXPECT_TRUE(result.top_logprobs.empty());
}

TEST(SamplerTest, TopLogprobsSumToOneOverTheWholeVocabularyAndComeSortedDescending) {
  SamplingParams params;
  params.top_logprobs = 20;
  params.temperature = 0.3f;  // no effect on logprobs
  params.top_k = 2;           // nor this
  Sampler sampler(params, 20, {});
  FixedRandom random(0.5f);
  std::vector<float> logits = RandomLogits(20, 11);
  const std::vector<double> reference = LogSoftmax(logits);
  const SampleResult result = sampler.Sample(logits.data(), random);
  ASSERT_EQ(result.top_logprobs.size(), 20u);
  double sum = 0.0;
  for (size_t i = 0; i < result.top_logprobs.size(); ++i) {
    const TokenLogprob& entry = result.top_logprobs[i];
    sum += std::exp(entry.logprob);
    EXPECT_NEAR(entry.logprob, reference[entry.token], 1e-5);
    if (i > 0) {
      EXPECT_GE(result.top_logprobs[i - 1].logprob, entry.logprob);
    }
  }
  EXPECT_NEAR(sum, 1.0, 1e-5);
  EXPECT_NEAR(result.logprob, reference[result.token], 1e-5);
}

TEST(SamplerTest, ChosenLogprobIsThatOfTheProcessedDistributionAtTemperatureOne) {
  SamplingParams params;
  params.logprobs = true;
  params.temperature = 0.0f;
  params.logit_bias = {{3, 2.0f}};
  Sampler sampler(params, 6, {});
  FixedRandom random(0.5f);
  const std::vector<float> raw = {0.5f, 1.0f, 2.5f, 1.0f, -1.0f, 0.0f};
  std::vector<float> processed = raw;
  processed[3] += 2.0f;
  std::vector<float> logits = raw;
  const SampleResult result = sampler.Sample(logits.data(), random);
  EXPECT_EQ(result.token, 3);
  EXPECT_NEAR(result.logprob, LogSoftmax(processed)[3], 1e-6);
  EXPECT_TRUE(result.top_logprobs.empty());
}

TEST(SamplerTest, TopLogprobsBreakTiesByLowestIdAndStopAtTheVocabulary) {
  SamplingParams params;
  params.top_logprobs = 3;
  Sampler sampler(params, 10, {});
  FixedRandom random(0.5f);
  std::vector<float> logits(10, 0.0f);
  logits[7] = 1.0f;
  const SampleResult result = sampler.Sample(logits.data(), random);
  ASSERT_EQ(result.top_logprobs.size(), 3u);
  EXPECT_EQ(result.top_logprobs[0].token, 7);
  EXPECT_EQ(result.top_logprobs[1].token, 0);
  EXPECT_EQ(result.top_logprobs[2].token, 1);
  EXPECT_FLOAT_EQ(result.top_logprobs[1].logprob, result.top_logprobs[2].logprob);
  EXPECT_FALSE(std::isnan(result.logprob));  // top_logprobs > 0 implies logprobs

  SamplingParams many;
  many.top_logprobs = 20;
  Sampler small(many, 5, {});
  std::vector<float> five(5, 0.0f);
  EXPECT_EQ(small.Sample(five.data(), random).top_logprobs.size(), 5u);
}

// ---------------------------------------------------------------------------------------- validation

TEST(ValidateSamplingParamsTest, AcceptsDefaultsAndRangeEnds) {
  std::string param = "untouched";
  EXPECT_TRUE(ValidateSamplingParams(SamplingParams{}, 100, &param).ok());
  EXPECT_EQ(param, "untouched");
  SamplingParams low;
  low.temperature = 0.0f;
  low.top_p = 1e-6f;
  low.top_k = 0;
  low.min_p = 0.0f;
  low.presence_penalty = -2.0f;
  low.frequency_penalty = -2.0f;
  low.repetition_penalty = 1e-3f;
  low.logit_bias = {{0, -100.0f}};
  low.top_logprobs = 0;
  EXPECT_TRUE(ValidateSamplingParams(low, 100).ok());
  SamplingParams high;
  high.temperature = 2.0f;
  high.top_p = 1.0f;
  high.top_k = 1000000;
  high.min_p = 1.0f;
  high.presence_penalty = 2.0f;
  high.frequency_penalty = 2.0f;
  high.repetition_penalty = 10.0f;
  high.logit_bias = {{99, 100.0f}};
  high.top_logprobs = 20;
  high.seed = 12345;
  EXPECT_TRUE(ValidateSamplingParams(high, 100).ok());
}

TEST(ValidateSamplingParamsTest, RejectsEachBadValueNamingTheParameter) {
  const float nan = std::nanf("");
  struct Case {
    std::string param;
    std::function<void(SamplingParams&)> spoil;
  };
  const std::vector<Case> cases = {
      {"temperature", [](SamplingParams& p) { p.temperature = -0.1f; }},
      {"temperature", [](SamplingParams& p) { p.temperature = 2.01f; }},
      {"temperature", [nan](SamplingParams& p) { p.temperature = nan; }},
      {"top_p", [](SamplingParams& p) { p.top_p = 0.0f; }},
      {"top_p", [](SamplingParams& p) { p.top_p = 1.01f; }},
      {"top_p", [nan](SamplingParams& p) { p.top_p = nan; }},
      {"top_k", [](SamplingParams& p) { p.top_k = -1; }},
      {"min_p", [](SamplingParams& p) { p.min_p = -0.01f; }},
      {"min_p", [](SamplingParams& p) { p.min_p = 1.5f; }},
      {"presence_penalty", [](SamplingParams& p) { p.presence_penalty = 2.5f; }},
      {"presence_penalty", [](SamplingParams& p) { p.presence_penalty = -2.5f; }},
      {"frequency_penalty", [](SamplingParams& p) { p.frequency_penalty = 2.5f; }},
      {"frequency_penalty", [nan](SamplingParams& p) { p.frequency_penalty = nan; }},
      {"repetition_penalty", [](SamplingParams& p) { p.repetition_penalty = 0.0f; }},
      {"repetition_penalty", [](SamplingParams& p) { p.repetition_penalty = -1.0f; }},
      {"repetition_penalty", [](SamplingParams& p) { p.repetition_penalty = 10.5f; }},
      {"logit_bias",
       [](SamplingParams& p) {
         p.logit_bias = {{100, 1.0f}};
       }},
      {"logit_bias",
       [](SamplingParams& p) {
         p.logit_bias = {{-1, 1.0f}};
       }},
      {"logit_bias",
       [](SamplingParams& p) {
         p.logit_bias = {{5, 100.5f}};
       }},
      {"logit_bias",
       [](SamplingParams& p) {
         p.logit_bias = {{5, -101.0f}};
       }},
      {"logit_bias",
       [nan](SamplingParams& p) {
         p.logit_bias = {{5, nan}};
       }},
      {"top_logprobs", [](SamplingParams& p) { p.top_logprobs = 21; }},
      {"top_logprobs", [](SamplingParams& p) { p.top_logprobs = -1; }},
  };
  for (const Case& c : cases) {
    SamplingParams params;
    c.spoil(params);
    std::string param;
    const Status status = ValidateSamplingParams(params, 100, &param);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << c.param;
    EXPECT_EQ(param, c.param);
    EXPECT_EQ(status.message().rfind(c.param + " ", 0), 0u) << status.message();
  }
  // Without the out-parameter, still named in the message.
  SamplingParams params;
  params.top_p = 0.0f;
  EXPECT_EQ(ValidateSamplingParams(params, 100).message(), "top_p must be greater than 0 and at most 1, got 0");
}

// --------------------------------------------------------------------------------------- performance

// The card worker samples up to 64 sequences a step; a default sample over a 32000-token vocabulary must
// stay far below a step's time. The bound is 10x the goal (100 µs) so that a loaded machine does not fail
// it; the measured times are printed for the record.
TEST(SamplerPerformanceTest, SampleOfVocab32000IsFast) {
  constexpr int kVocab = 32000;
  const std::vector<float> base = RandomLogits(kVocab, 77, 8.0f);
  struct Variant {
    const char* name;
    SamplingParams params;
  };
  std::vector<Variant> variants(6);
  variants[0].name = "default (T=1)";
  variants[1].name = "greedy";
  variants[1].params.temperature = 0.0f;
  variants[2].name = "T=0.8 top_p=0.95";
  variants[2].params.temperature = 0.8f;
  variants[2].params.top_p = 0.95f;
  variants[3].name = "T=0.8 top_k=40";
  variants[3].params.temperature = 0.8f;
  variants[3].params.top_k = 40;
  variants[4].name = "T=0.8 min_p=0.05";
  variants[4].params.temperature = 0.8f;
  variants[4].params.min_p = 0.05f;
  variants[5].name = "default + top_logprobs=5";
  variants[5].params.top_logprobs = 5;
  double default_median = 0.0;
  for (const Variant& v : variants) {
    Sampler sampler(v.params, kVocab, {});
    Rng rng(1);
    std::vector<double> micros;
    std::vector<float> logits(kVocab);
    for (int i = 0; i < 200; ++i) {
      std::copy(base.begin(), base.end(), logits.begin());
      const auto start = std::chrono::steady_clock::now();
      sampler.Sample(logits.data(), rng);
      const auto elapsed = std::chrono::steady_clock::now() - start;
      micros.push_back(std::chrono::duration<double, std::micro>(elapsed).count());
    }
    std::nth_element(micros.begin(), micros.begin() + micros.size() / 2, micros.end());
    const double median = micros[micros.size() / 2];
    std::cout << "sample, vocab 32000, " << v.name << ": " << median << " us (median)\n";
    if (&v == &variants[0]) default_median = median;
  }
#if defined(__OPTIMIZE__) && !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
  EXPECT_LT(default_median, 1000.0);
#else
  (void)default_median;
#endif
}

}  // namespace
}  // namespace fpgaserve
