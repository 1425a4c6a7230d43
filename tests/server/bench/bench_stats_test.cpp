#include "server/bench/bench_stats.h"

#include <cmath>

#include <gtest/gtest.h>

namespace fpgaserve {
namespace {

RequestRecord Ok(double ttft_s, double e2el_s, int out_tokens, std::vector<double> itl_s, int in_tokens = 10) {
  RequestRecord r;
  r.ttft_s = ttft_s;
  r.e2el_s = e2el_s;
  r.completion_tokens = out_tokens;
  r.prompt_tokens = in_tokens;
  r.itl_s = std::move(itl_s);
  return r;
}

RequestRecord Failed(RequestOutcome outcome, int status = 0) {
  RequestRecord r;
  r.outcome = outcome;
  r.http_status = status;
  return r;
}

TEST(BenchStatsTest, PercentilesInterpolateLikeNumpy) {
  const std::vector<double> v = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  EXPECT_DOUBLE_EQ(Percentile(v, 50), 5.5);  // numpy.percentile(range(1,11), 50)
  EXPECT_DOUBLE_EQ(Percentile(v, 90), 9.1);
  EXPECT_DOUBLE_EQ(Percentile(v, 99), 9.91);
  EXPECT_DOUBLE_EQ(Percentile({42}, 99), 42);
  const Distribution d = Summarize({4, 1, 3, 2});
  EXPECT_DOUBLE_EQ(d.mean, 2.5);
  EXPECT_DOUBLE_EQ(d.median, 2.5);
  EXPECT_DOUBLE_EQ(d.std, std::sqrt(1.25));
  EXPECT_DOUBLE_EQ(d.min, 1);
  EXPECT_DOUBLE_EQ(d.max, 4);
  EXPECT_EQ(Summarize({}).p99, 0.0);
}

TEST(BenchStatsTest, ThroughputTpotAndFailuresFromFixedRecords) {
  LoadResult result;
  result.duration_s = 2.0;
  result.records = {Ok(0.100, 1.100, 11, {0.1, 0.1}), Ok(0.300, 0.700, 5, {0.05}),
                    Failed(RequestOutcome::kHttpStatus, 429), Failed(RequestOutcome::kHttpStatus, 429),
                    Failed(RequestOutcome::kConnection)};
  result.not_sent = 3;
  const BenchStats s = ComputeStats(result, {8, 4.0, 1.0}, {});
  EXPECT_EQ(s.completed, 2);
  EXPECT_EQ(s.failed, 3);
  EXPECT_EQ(s.num_prompts, 8);
  EXPECT_EQ(s.errors_by_status.at("429"), 2);
  EXPECT_EQ(s.errors_by_status.at("connection"), 1);
  EXPECT_EQ(s.total_input_tokens, 20);
  EXPECT_EQ(s.total_output_tokens, 16);
  EXPECT_DOUBLE_EQ(s.request_throughput, 1.0);
  EXPECT_DOUBLE_EQ(s.output_throughput, 8.0);
  EXPECT_DOUBLE_EQ(s.total_token_throughput, 18.0);
  // TPOT: (1100-100)/10 = 100 ms and (700-300)/4 = 100 ms.
  EXPECT_DOUBLE_EQ(s.tpot_ms.mean, 100.0);
  EXPECT_DOUBLE_EQ(s.ttft_ms.mean, 200.0);
  EXPECT_NEAR(s.itl_ms.median, 100.0, 1e-9);  // {50, 100, 100}
  EXPECT_FALSE(s.goodput.has_value());
}

TEST(BenchStatsTest, GoodputCountsRequestsMeetingEverySlo) {
  LoadResult result;
  result.duration_s = 4.0;
  result.records = {Ok(0.1, 1.1, 11, {}),  // ttft 100, tpot 100
                    Ok(0.5, 1.5, 11, {}),  // ttft 500: misses ttft
                    Ok(0.1, 2.1, 11, {}),  // tpot 200: misses tpot
                    Ok(0.2, 0.2, 1, {}),   // one token: no TPOT, meets it
                    Failed(RequestOutcome::kTimeout)};
  auto slo = ParseSlo("ttft=300,tpot=150");
  ASSERT_TRUE(slo.ok());
  const BenchStats s = ComputeStats(result, {}, slo.value());
  EXPECT_EQ(s.good_requests, 2);
  ASSERT_TRUE(s.goodput.has_value());
  EXPECT_DOUBLE_EQ(*s.goodput, 0.5);
}

TEST(BenchStatsTest, SloParsingRejectsUnknownKeysAndBadNumbers) {
  EXPECT_TRUE(ParseSlo("").ok());
  EXPECT_FALSE(ParseSlo("").value().any());
  EXPECT_TRUE(ParseSlo("e2el=1000").value().e2el_ms.has_value());
  EXPECT_FALSE(ParseSlo("ttfx=1").ok());
  EXPECT_FALSE(ParseSlo("ttft=abc").ok());
  EXPECT_FALSE(ParseSlo("ttft=-1").ok());
  EXPECT_FALSE(ParseSlo("ttft").ok());
}

}  // namespace
}  // namespace fpgaserve
