// The power sampler against the fake server's /metrics page, whose power rises by 1 W with every scrape:
// the cards' gauges are kept (else the host's), failed scrapes are skipped, and sampling beside a load
// run neither disturbs it nor outlives it.
#include "server/bench/power_sampler.h"

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "base/clock.h"
#include "server/bench/fake_openai_server.h"
#include "server/bench/load_client.h"
#include "server/bench/workload.h"
#include "support/test_support.h"

namespace fpgaserve {
namespace {

using testing::FakeOpenAiServer;
using testing::FakeServerOptions;
using Watts = std::map<std::string, double>;

HttpTarget Target(const FakeOpenAiServer& server) {
  return ParseHttpUrl("http://127.0.0.1:" + std::to_string(server.port())).value();
}

FakeServerOptions WithMetrics(bool host_only = false) {
  FakeServerOptions o;
  o.serve_metrics = true;
  o.metrics_host_only = host_only;
  return o;
}

TEST(PowerSamplerTest, KeepsTheCardsPowerAtTheClocksTimeSinceConstruction) {
  FakeOpenAiServer server(WithMetrics());
  FakeClock clock;
  PowerSampler sampler(Target(server), {}, &clock);
  clock.Advance(std::chrono::milliseconds(250));
  ASSERT_TRUE(sampler.SampleOnce());
  clock.Advance(std::chrono::milliseconds(500));
  ASSERT_TRUE(sampler.SampleOnce());
  const std::vector<PowerSample> samples = sampler.Stop();
  ASSERT_EQ(samples.size(), 2u);
  EXPECT_DOUBLE_EQ(samples[0].t_s, 0.25);
  EXPECT_EQ(samples[0].watts, (Watts{{"fake0", 10}, {"fake1", 20}})) << "the cards, not the host";
  EXPECT_DOUBLE_EQ(samples[1].t_s, 0.75);
  EXPECT_EQ(samples[1].watts, (Watts{{"fake0", 11}, {"fake1", 21}}));
  EXPECT_TRUE(sampler.Stop().empty()) << "Stop hands the samples over";
}

TEST(PowerSamplerTest, KeepsTheHostPowerWhenNoCardReportsAny) {
  FakeOpenAiServer server(WithMetrics(/*host_only=*/true));
  FakeClock clock;
  PowerSampler sampler(Target(server), {}, &clock);
  ASSERT_TRUE(sampler.SampleOnce());
  const std::vector<PowerSample> samples = sampler.Stop();
  ASSERT_EQ(samples.size(), 1u);
  EXPECT_EQ(samples[0].watts, (Watts{{"host", 50}}));
}

TEST(PowerSamplerTest, SkipsFailedScrapesWithoutFailing) {
  FakeClock clock;
  FakeOpenAiServer no_metrics;  // 404, as a server other than fpgaserve
  PowerSampler on_404(Target(no_metrics), {}, &clock);
  EXPECT_FALSE(on_404.SampleOnce());
  EXPECT_EQ(no_metrics.metrics_scrapes(), 1);
  EXPECT_TRUE(on_404.Stop().empty());

  FakeOpenAiServer server(WithMetrics());
  PowerSampler sampler(Target(server), {}, &clock);
  ASSERT_TRUE(sampler.SampleOnce());
  server.Kill();  // the server dies mid-run: later scrapes are skipped, the earlier sample stays
  EXPECT_FALSE(sampler.SampleOnce());
  EXPECT_EQ(sampler.Stop().size(), 1u);
}

TEST(PowerSamplerTest, StartScrapesOnTheClocksIntervalGrid) {
  FakeServerOptions fo = WithMetrics();
  FakeOpenAiServer server(fo);
  FakeClock clock;
  PowerSamplerOptions po;
  po.interval = std::chrono::milliseconds(500);
  PowerSampler sampler(Target(server), po, &clock);
  sampler.Start();
  // The thread scrapes at once, then waits for the fake time to reach the next slot; nothing else moves it.
  auto parked_after = [&](int scrapes) {
    while (server.metrics_scrapes() < scrapes || clock.Waiters() == 0) std::this_thread::yield();
  };
  parked_after(1);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(server.metrics_scrapes(), 1) << "no second scrape before the interval has passed on the clock";
  clock.Advance(std::chrono::milliseconds(499));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(server.metrics_scrapes(), 1);
  clock.Advance(std::chrono::milliseconds(1));
  parked_after(2);
  clock.Advance(std::chrono::milliseconds(500));
  parked_after(3);
  const std::vector<PowerSample> samples = sampler.Stop();
  ASSERT_EQ(samples.size(), 3u);
  EXPECT_DOUBLE_EQ(samples[0].t_s, 0.0);
  EXPECT_DOUBLE_EQ(samples[1].t_s, 0.5);
  EXPECT_DOUBLE_EQ(samples[2].t_s, 1.0);
}

TEST(PowerSamplerTest, SamplesBesideALoadRunAndStopsWithIt) {
  FakeServerOptions fo = WithMetrics();
  fo.chunk_delay_ms = 20;  // 40 requests of 16 tokens, 8 at a time: about 1.6 s
  FakeOpenAiServer server(fo);
  WorkloadOptions w;
  w.model = "fake";
  w.num_prompts = 40;
  w.input_tokens = 8;
  w.output_tokens = 16;
  LoadOptions lo;
  lo.max_concurrency = 8;

  PowerSamplerOptions po;
  po.interval = std::chrono::milliseconds(100);
  PowerSampler sampler(Target(server), po, RealClock());
  sampler.Start();
  auto result = RunLoad(Target(server), RandomWorkload(w).value(), lo);
  const auto stop_began = std::chrono::steady_clock::now();
  const std::vector<PowerSample> samples = sampler.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - stop_began, po.scrape_timeout + std::chrono::seconds(1))
      << "Stop waits for one scrape at most";
  const int scrapes_at_stop = server.metrics_scrapes();

  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(server.requests(), 40) << "scrapes are not requests of the run";
  EXPECT_EQ(server.streams_completed_when(40), 40);
  ASSERT_GE(samples.size(), 5u) << "about 16 expected at 100 ms";
  EXPECT_EQ(static_cast<int>(samples.size()), scrapes_at_stop);
  for (size_t i = 1; i < samples.size(); i++) {
    EXPECT_GT(samples[i].t_s, samples[i - 1].t_s);
    EXPECT_EQ(samples[i].watts.at("fake0"), samples[i - 1].watts.at("fake0") + 1) << "one scrape per sample, in order";
  }
  EXPECT_LT(samples.back().t_s, result->duration_s + 1.0);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(server.metrics_scrapes(), scrapes_at_stop) << "no scrape after Stop";
}

}  // namespace
}  // namespace fpgaserve
