// Perplexity with the kernel and with the float reference.
#include "server/model/perplexity.h"

#include <cmath>

#include <gtest/gtest.h>

#include "fpga/sim_card.h"
#include "fpga/weights_image.h"
#include "server/model/random_model.h"

namespace fpgaserve {
namespace {

std::vector<int> SomeTokens(int n, int vocab) {
  std::vector<int> t;
  t.reserve(n);
  for (int i = 0; i < n; i++) t.push_back((i * 7 + i * i * 3 + 1) % vocab);
  return t;
}

TEST(Perplexity, KernelAgreesWithFloatReferenceOnARandomModel) {
  ModelConfig c = NamedShape("tiny").value();
  RandomModel model = MakeRandomModel(c, 3);
  SimCardOptions o;
  o.n_slots = 1;
  o.cache_len = 40;
  auto card = SimCard::Create(WeightsImage::Pack(model.view).value(), o).value();
  FloatReference ref(model.view);
  const auto tokens = SomeTokens(100, c.vocab_size);
  auto k = KernelPerplexity(*card, tokens, 40);
  ASSERT_TRUE(k.ok()) << k.status().ToString();
  const Perplexity f = FloatPerplexity(ref, tokens, 40);
  // Windows of 40 over 100 tokens: 39 + 39 + 19 predictions.
  EXPECT_EQ(k->tokens_scored, 97);
  EXPECT_EQ(f.tokens_scored, 97);
  EXPECT_NEAR(k->perplexity, std::exp(k->mean_nll), 1e-9);
  // A random model is near-uniform over 512 tokens: perplexity in the hundreds, and int8 within 2%.
  EXPECT_GT(f.perplexity, 50.0);
  EXPECT_NEAR(k->mean_nll, f.mean_nll, 0.02);
}

TEST(Perplexity, AConstantSequenceIsNotScoredAcrossWindows) {
  ModelConfig c = NamedShape("tiny").value();
  RandomModel model = MakeRandomModel(c, 3);
  FloatReference ref(model.view);
  EXPECT_EQ(FloatPerplexity(ref, {5}, 10).tokens_scored, 0);
  EXPECT_EQ(FloatPerplexity(ref, {5, 6}, 10).tokens_scored, 1);
  EXPECT_EQ(FloatPerplexity(ref, std::vector<int>(21, 4), 10).tokens_scored, 9 + 9 + 0);
}

}  // namespace
}  // namespace fpgaserve
