#include "server/bench/arrivals.h"

#include <cmath>
#include <limits>

#include <gtest/gtest.h>

namespace fpgaserve {
namespace {

double MeanGap(const std::vector<double>& t) { return t.back() / static_cast<double>(t.size() - 1); }

double GapCv(const std::vector<double>& t) {  // coefficient of variation of the gaps
  const double mean = MeanGap(t);
  double sq = 0;
  for (size_t i = 1; i < t.size(); i++) sq += (t[i] - t[i - 1] - mean) * (t[i] - t[i - 1] - mean);
  return std::sqrt(sq / static_cast<double>(t.size() - 1)) / mean;
}

TEST(ArrivalsTest, PoissonHasTheRequestedMeanRateAndExponentialGaps) {
  const auto t = ArrivalTimes(20000, {.rate = 50.0, .burstiness = 1.0, .seed = 7});
  ASSERT_EQ(t.size(), 20000u);
  EXPECT_EQ(t[0], 0.0);
  EXPECT_NEAR(1.0 / MeanGap(t), 50.0, 50.0 * 0.03);
  EXPECT_NEAR(GapCv(t), 1.0, 0.05);  // an exponential's CV is 1
  for (size_t i = 1; i < t.size(); i++) ASSERT_GE(t[i], t[i - 1]);
}

TEST(ArrivalsTest, GammaKeepsTheMeanRateWhileBurstinessSetsTheSpread) {
  for (double b : {0.25, 4.0}) {
    const auto t = ArrivalTimes(20000, {.rate = 10.0, .burstiness = b, .seed = 3});
    EXPECT_NEAR(1.0 / MeanGap(t), 10.0, 10.0 * 0.05) << "burstiness " << b;
    EXPECT_NEAR(GapCv(t), 1.0 / std::sqrt(b), 0.1 / std::sqrt(b)) << "burstiness " << b;  // gamma CV = 1/sqrt(shape)
  }
}

TEST(ArrivalsTest, SameSeedSameScheduleAndInfiniteRateSendsAllAtOnce) {
  EXPECT_EQ(ArrivalTimes(100, {.rate = 5, .burstiness = 1, .seed = 1}),
            ArrivalTimes(100, {.rate = 5, .burstiness = 1, .seed = 1}));
  EXPECT_NE(ArrivalTimes(100, {.rate = 5, .burstiness = 1, .seed = 1}),
            ArrivalTimes(100, {.rate = 5, .burstiness = 1, .seed = 2}));
  const auto all = ArrivalTimes(10, {.rate = std::numeric_limits<double>::infinity(), .burstiness = 1, .seed = 0});
  EXPECT_EQ(all, std::vector<double>(10, 0.0));
}

}  // namespace
}  // namespace fpgaserve
