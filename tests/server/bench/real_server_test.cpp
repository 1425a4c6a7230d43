// `fpgaserve bench serve` against the real `fpgaserve serve` (tiny model, two simulated cards, loopback):
// what the load generator counts must equal what the server's /metrics counted, and failures (429s, a
// server that dies mid-run) must be reported, never dropped.
#include <cstdio>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "server/http/serve_process.h"
#include "support/test_support.h"

namespace fpgaserve::testing {
namespace {

struct BenchRun {
  int exit_code = -1;
  std::string output;
  nlohmann::json json;
};

BenchRun RunBench(int port, const std::string& flags, const std::string& json_path) {
  const std::string cmd = FpgaserveBinary() + " bench serve --quiet --url http://127.0.0.1:" + std::to_string(port) +
                          " --vocab-size 512 --json " + json_path + " " + flags + " 2>&1";
  BenchRun run;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return run;
  char buf[512];
  while (size_t n = fread(buf, 1, sizeof buf, pipe)) run.output.append(buf, n);
  const int status = pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  const std::string text = ReadFile(json_path);
  if (!text.empty()) run.json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  return run;
}

// The sum over all label sets of a Prometheus counter.
double MetricSum(const std::string& metrics, const std::string& name) {
  std::istringstream in(metrics);
  double sum = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(name, 0) != 0) continue;
    const char next = line.size() > name.size() ? line[name.size()] : '\0';
    if (next != '{' && next != ' ') continue;
    sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

TEST(BenchServeAgainstRealServer, CountsEqualTheServersMetrics) {
  ServeProcess server({"--device", "sim:2", "--kv-slots", "4"});
  ASSERT_TRUE(server.ok()) << server.log();
  TempDir dir;
  const BenchRun run = RunBench(server.port(),
                                "--input-tokens 8 --output-tokens 16 --num-prompts 24 --concurrency 4 --max-seconds 60"
                                " --power-interval-ms 100 --html " +
                                    dir.file("run.html"),
                                dir.file("run.json"));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  ASSERT_TRUE(run.json.is_object()) << run.output;
  EXPECT_EQ(run.json.value("completed", -1), 24);
  // Simulated cards have no power sensor and this host no powercap: sampled, nothing to keep, and said so.
  EXPECT_TRUE(run.json["power_samples"].is_array()) << run.json.dump();
  EXPECT_EQ(run.json["power_samples"].empty(),
            ReadFile(dir.file("run.html")).find("no power data") != std::string::npos);
  EXPECT_EQ(run.json.value("failed", -1), 0);
  EXPECT_EQ(run.json.value("total_output_tokens", -1), 24 * 16);

  auto metrics = server.Client().Get("/metrics");
  ASSERT_TRUE(metrics) << "no /metrics: " << httplib::to_string(metrics.error()) << "\n" << server.log();
  EXPECT_EQ(MetricSum(metrics->body, "fpgaserve_request_success_total"), 24.0);
  EXPECT_EQ(MetricSum(metrics->body, "fpgaserve_generation_tokens_total"), run.json.value("total_output_tokens", -1));
  EXPECT_EQ(MetricSum(metrics->body, "fpgaserve_prompt_tokens_total"), run.json.value("total_input_tokens", -1));
}

TEST(BenchServeAgainstRealServer, QueueOverflowIsReportedAs429) {
  // One card, one slot, a queue of one: most of 16 simultaneous requests are turned away.
  ServeProcess server({"--device", "sim:1", "--kv-slots", "1", "--max-queue", "1"});
  ASSERT_TRUE(server.ok()) << server.log();
  TempDir dir;
  const BenchRun run =
      RunBench(server.port(), "--input-tokens 8 --output-tokens 32 --num-prompts 16 --concurrency 16 --max-seconds 60",
               dir.file("run.json"));
  ASSERT_TRUE(run.json.is_object()) << run.output;
  const int completed = run.json.value("completed", -1);
  const int failed = run.json.value("failed", -1);
  EXPECT_EQ(completed + failed, 16) << "every request is counted, as completed or as failed";
  EXPECT_GT(failed, 0);
  ASSERT_TRUE(run.json.contains("errors_by_status")) << run.json.dump();
  EXPECT_EQ(run.json["errors_by_status"].value("429", 0), failed) << run.json["errors_by_status"].dump();
}

TEST(BenchServeAgainstRealServer, AServerThatDiesMidRunIsReportedAsFailures) {
  ServeProcess server({"--device", "sim:1", "--kv-slots", "2"});
  ASSERT_TRUE(server.ok()) << server.log();
  TempDir dir;
  std::thread killer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    server.Signal(SIGKILL);
  });
  const BenchRun run =
      RunBench(server.port(), "--input-tokens 8 --output-tokens 100 --num-prompts 400 --concurrency 2 --max-seconds 60",
               dir.file("run.json"));
  killer.join();
  ASSERT_TRUE(run.json.is_object()) << run.output;
  const int completed = run.json.value("completed", -1);
  const int failed = run.json.value("failed", -1);
  const int not_sent = run.json.value("not_sent", 0);
  EXPECT_GT(failed, 0) << run.json.dump();
  EXPECT_EQ(completed + failed + not_sent, 400) << run.json.dump();
}

}  // namespace
}  // namespace fpgaserve::testing
