// End to end: the load generator against the fake streaming server on loopback.
#include "server/bench/load_client.h"

#include <chrono>
#include <future>
#include <thread>

#include <gtest/gtest.h>

#include "base/open_file_limit.h"
#include "server/bench/bench_stats.h"
#include "server/bench/fake_openai_server.h"
#include "server/bench/workload.h"

namespace fpgaserve {
namespace {

using testing::FakeOpenAiServer;
using testing::FakeServerOptions;

HttpTarget Target(const FakeOpenAiServer& server) {
  return ParseHttpUrl("http://127.0.0.1:" + std::to_string(server.port())).value();
}

std::vector<RequestSpec> Specs(int n, int input_tokens, int output_tokens, Endpoint endpoint = Endpoint::kCompletions) {
  WorkloadOptions o;
  o.model = "fake";
  o.endpoint = endpoint;
  o.prompt_kind = endpoint == Endpoint::kChat ? PromptKind::kText : PromptKind::kTokenIds;
  o.num_prompts = n;
  o.input_tokens = input_tokens;
  o.output_tokens = output_tokens;
  return RandomWorkload(o).value();
}

TEST(LoadClientTest, CountsEveryRequestAndTokenTheServerServed) {
  FakeOpenAiServer server;
  LoadOptions lo;
  lo.max_concurrency = 8;
  auto result = RunLoad(Target(server), Specs(40, 12, 16), lo);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  const BenchStats s = ComputeStats(*result, {8, 0, 1}, {});
  EXPECT_EQ(s.completed, 40);
  EXPECT_EQ(s.failed, 0);
  EXPECT_EQ(server.streams_completed_when(40), 40);
  EXPECT_EQ(s.total_output_tokens, server.tokens_served());
  EXPECT_EQ(s.total_output_tokens, 40 * 16);
  EXPECT_EQ(s.total_input_tokens, server.prompt_tokens_served());
  EXPECT_EQ(s.itl_samples.size(), 40u * 15u);  // 16 content chunks: 15 gaps each
  for (const RequestRecord& r : result->records) {
    EXPECT_TRUE(r.usage_reported);
    EXPECT_EQ(r.content_chunks, 16);
    EXPECT_GE(r.e2el_s, r.ttft_s);
  }
}

TEST(LoadClientTest, ChatStreamsWithoutUsageFallBackToCountingChunks) {
  FakeServerOptions fo;
  fo.send_usage = false;
  FakeOpenAiServer server(fo);
  LoadOptions lo;
  lo.path = EndpointPath(Endpoint::kChat);
  auto result = RunLoad(Target(server), Specs(10, 8, 5, Endpoint::kChat), lo);
  ASSERT_TRUE(result.ok());
  const BenchStats s = ComputeStats(*result, {}, {});
  EXPECT_EQ(s.completed, 10);
  EXPECT_EQ(s.total_output_tokens, 50);
  EXPECT_FALSE(result->records[0].usage_reported);
}

TEST(LoadClientTest, RejectedRequestsAreCountedUnderTheirStatusCode) {
  FakeServerOptions fo;
  fo.reject_every = 3;
  FakeOpenAiServer server(fo);
  LoadOptions lo;
  lo.max_concurrency = 1;  // in order, so exactly requests 3, 6, .. 30 are rejected
  auto result = RunLoad(Target(server), Specs(30, 4, 4), lo);
  ASSERT_TRUE(result.ok());
  const BenchStats s = ComputeStats(*result, {}, {});
  EXPECT_EQ(s.completed, 20);
  EXPECT_EQ(s.failed, 10);
  ASSERT_EQ(s.errors_by_status.size(), 1u);
  EXPECT_EQ(s.errors_by_status.at("429"), 10);
  EXPECT_EQ(server.rejected(), 10);
  EXPECT_EQ(s.total_output_tokens, server.tokens_served());
}

TEST(LoadClientTest, AServerKilledMidRunIsReportedAsConnectionFailures) {
  FakeServerOptions fo;
  fo.chunk_delay_ms = 20;  // 50 tokens: each stream lasts about a second
  FakeOpenAiServer server(fo);
  LoadOptions lo;
  lo.max_concurrency = 10;
  auto run = std::async(std::launch::async, [&] { return RunLoad(Target(server), Specs(40, 4, 50), lo); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  server.Kill();
  auto result = run.get();
  ASSERT_TRUE(result.ok());
  const BenchStats s = ComputeStats(*result, {}, {});
  EXPECT_EQ(s.completed + s.failed, 40);  // nothing dropped: the rest are refused connections
  EXPECT_EQ(s.completed, server.streams_completed_when(s.completed));
  EXPECT_GE(s.failed, 30);
  ASSERT_EQ(s.errors_by_status.size(), 1u);
  EXPECT_EQ(s.errors_by_status.at("connection"), s.failed);
}

TEST(LoadClientTest, HardStopCancelsRequestsStillRunningAfterMaxSecondsPlusGrace) {
  FakeServerOptions fo;
  fo.chunk_delay_ms = 100;  // 100 tokens: ten seconds per stream, far beyond the limit
  FakeOpenAiServer server(fo);
  LoadOptions lo;
  lo.max_concurrency = 4;
  lo.max_seconds = 0.3;
  lo.grace_seconds = 0.2;
  const auto start = std::chrono::steady_clock::now();
  auto result = RunLoad(Target(server), Specs(20, 4, 100), lo);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(result.ok());
  EXPECT_LT(secs, 3.0);
  EXPECT_TRUE(result->hard_stopped);
  EXPECT_EQ(result->records.size(), 4u);
  EXPECT_EQ(result->not_sent, 16);
  const BenchStats s = ComputeStats(*result, {}, {});
  EXPECT_EQ(s.errors_by_status.at("timeout"), 4);
}

TEST(LoadClientTest, RequestRateSpreadsSendsOverTime) {
  FakeOpenAiServer server;
  LoadOptions lo;
  lo.arrivals = {.rate = 40.0, .burstiness = 1.0, .seed = 5};
  auto result = RunLoad(Target(server), Specs(20, 4, 2), lo);
  ASSERT_TRUE(result.ok());
  const auto expected = ArrivalTimes(20, lo.arrivals);
  ASSERT_EQ(result->records.size(), 20u);
  for (size_t i = 0; i < 20; i++) EXPECT_NEAR(result->records[i].send_s, expected[i], 0.25) << i;
}

TEST(LoadClientTest, UnreachableServerFailsEveryRequestAsConnection) {
  int port = 0;
  {
    FakeOpenAiServer gone;
    port = gone.port();
  }
  auto result = RunLoad(ParseHttpUrl("http://127.0.0.1:" + std::to_string(port)).value(), Specs(5, 4, 4),
                        LoadOptions{});
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(ComputeStats(*result, {}, {}).errors_by_status.at("connection"), 5);
}

TEST(LoadClientTest, HoldsAThousandConcurrentStreams) {
  const int n = 1000;
  const OpenFileLimit limit = RaiseOpenFileLimit(2 * n + 200);  // both ends of every stream live in this process
  if (!limit.warning.empty()) GTEST_SKIP() << limit.warning;
  FakeServerOptions fo;
  fo.hold_until_open = n;  // every stream waits after its first chunk until all n are open at once
  FakeOpenAiServer server(fo);
  LoadOptions lo;
  lo.request_timeout_s = 40;
  auto result = RunLoad(Target(server), Specs(n, 4, 4), lo);
  ASSERT_TRUE(result.ok());
  const BenchStats s = ComputeStats(*result, {}, {});
  EXPECT_EQ(server.max_open_streams(), n);
  EXPECT_EQ(s.completed, n);
  EXPECT_EQ(s.total_output_tokens, 4L * n);
  EXPECT_TRUE(s.errors_by_status.empty()) << s.errors_by_status.begin()->first;
}

}  // namespace
}  // namespace fpgaserve
