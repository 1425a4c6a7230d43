// The soak and attack test of issue 14: the real `fpgaserve serve` (tiny model, one simulated card) under
// slowloris connections, clients that stop reading a stream, clients that vanish mid-prefill and a burst of
// concurrent streams from the load generator, all at once on loopback. It speaks only HTTP and reads /proc,
// so it holds whatever transport the daemon runs.
//
// Scale: FPGASERVE_SOAK_SCALE (README.md beside this file). 1 (the default; 0.2 under ThreadSanitizer, 0.5
// under AddressSanitizer) is the short soak `make test` runs; 10 is the issue's full numbers.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <future>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <dirent.h>
#include <gtest/gtest.h>

#include "base/open_file_limit.h"
#include "server/bench/load_client.h"
#include "server/bench/workload.h"
#include "server/http/serve_process.h"
#include "server/soak/attack_clients.h"

namespace fpgaserve::testing {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

#if defined(__SANITIZE_THREAD__)
constexpr double kDefaultScale = 0.2;
constexpr bool kSanitized = true;
#elif defined(__SANITIZE_ADDRESS__)
constexpr double kDefaultScale = 0.5;
constexpr bool kSanitized = true;
#else
constexpr double kDefaultScale = 1.0;
constexpr bool kSanitized = false;
#endif

// /health under attack: the issue's 100 ms holds every probe but the slowest few (a transport starved by slow
// connections misses it for all of them: cpp-httplib left them unanswered for seconds); each probe is held to a
// second only, since on a shared 2-core machine running the suite two tests at a time a probe may wait out a
// scheduling slice, and latency is a benchmark's figure (printed below; README), not a pass/fail test. A
// sanitized daemon runs several times slower.
constexpr double kHealthLimitMs = kSanitized ? 250 : 100;
constexpr double kHealthMaxMs = kSanitized ? 2000 : 1000;
constexpr int kHealthSlowAllowed = 2;  // of kHealthProbes over kHealthLimitMs
constexpr int kHealthProbes = 50;

double Scale() {
  const char* env = std::getenv("FPGASERVE_SOAK_SCALE");
  return env != nullptr && *env != '\0' ? std::atof(env) : kDefaultScale;
}

// `small` at scale 1 (the short soak), `full` at scale 10 (the issue's numbers), in proportion below 1 and in a
// straight line between; at least 1.
int Scaled(int small, int full, double scale) {
  const double n = scale <= 1 ? small * scale : small + (full - small) * (scale - 1) / 9;
  return std::max(1, static_cast<int>(std::lround(n)));
}

struct Sizes {
  int streams, slowloris, stop_reading, disconnect;
};

Sizes SizesFor(double scale) {
  return {Scaled(1000, 10000, scale), Scaled(200, 5000, scale), Scaled(50, 1000, scale), Scaled(50, 1000, scale)};
}

int CountEntries(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return -1;
  int n = 0;
  while (dirent* e = readdir(d)) n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

// What the soak watches in the daemon: descriptors, threads, resident memory.
struct ProcessFigures {
  int fds = -1;
  int threads = -1;
  long rss_kb = -1;
};

ProcessFigures Read(pid_t pid) {
  const std::string base = "/proc/" + std::to_string(pid);
  ProcessFigures f;
  f.fds = CountEntries(base + "/fd");
  f.threads = CountEntries(base + "/task");
  std::ifstream status(base + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) f.rss_kb = std::atol(line.c_str() + 6);
  }
  return f;
}

// The sum over all label sets of a Prometheus gauge or counter; -1 when the metric is missing.
double MetricSum(const std::string& metrics, const std::string& name) {
  std::istringstream in(metrics);
  double sum = -1;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(name, 0) != 0) continue;
    const char next = line.size() > name.size() ? line[name.size()] : '\0';
    if (next != '{' && next != ' ') continue;
    sum = std::max(sum, 0.0) + std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

struct Probe {
  double ms = 0;
  int status = 0;  // 0: no answer
};

// One GET /health on a fresh connection, as a new user would try it, bounded by `timeout`.
Probe ProbeHealth(int port, std::chrono::seconds timeout) {
  httplib::Client c("127.0.0.1", port);
  c.set_connection_timeout(timeout);
  c.set_read_timeout(timeout);
  c.set_write_timeout(timeout);
  const auto start = Clock::now();
  auto res = c.Get("/health");
  Probe p;
  p.ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  p.status = res ? res->status : 0;
  return p;
}

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(std::min<double>(v.size() - 1, std::ceil(q * v.size()) - 1))];
}

std::string HttpPost(const std::string& body) {
  return "POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

// A token-id prompt of `n` tokens (the tiny model's vocabulary: ids 3-511 are ordinary tokens).
std::string TokenIds(int n) {
  std::string ids;
  for (int i = 0; i < n; ++i) ids += (i == 0 ? "" : ",") + std::to_string(3 + (i * 37) % 509);
  return "[" + ids + "]";
}

TEST(Soak, AttackAndStreamsLeaveNothingBehind) {
  const double scale = Scale();
  const Sizes sizes = SizesFor(scale);
  // Every connection of the test is a descriptor here and one in the daemon, which inherits this limit.
  const long wanted = sizes.streams + sizes.slowloris + sizes.stop_reading + sizes.disconnect + 256;
  const OpenFileLimit limit = RaiseOpenFileLimit(wanted);
  ASSERT_TRUE(limit.warning.empty()) << limit.warning;
  std::printf("soak: scale %.2f: %d streams, %d slowloris, %d stop-reading, %d disconnect-mid-prefill\n", scale,
              sizes.streams, sizes.slowloris, sizes.stop_reading, sizes.disconnect);
  std::fflush(stdout);  // before ServeProcess forks: a child would write the buffered text again

  // Room in the queue for every sequence of the test: 429s are allowed, but a queue that fills would hide the
  // rest of the test behind them.
  const int max_queue = 2 * (sizes.streams + sizes.stop_reading + sizes.disconnect);
  // One kernel thread for the card (automatic gives the tiny model one too), whatever the machine. An idle
  // timeout of 30 s, not the tests' 1 s or the default 5 s: the load generator shares the 2 cores with the
  // daemon and the attackers, and at scale 10 it ran its connect handlers up to 6.5 s after the kernel had
  // connected them (its failure messages said so: "connected 6.50 s after the start, request written 0.00 s
  // later"); the daemon, which had accepted them at once, closed them as idle before their request came.
  // That is the client's lag, not the server's, and the idle timeout is a setting.
  ServeProcess server({"--device", "sim:1", "--sim-threads", "1", "--kv-slots", "8", "--max-queue",
                       std::to_string(max_queue), "--http-keep-alive-timeout-s", "30"});
  ASSERT_TRUE(server.ok()) << server.log();
  const pid_t pid = server.pid();
  ASSERT_GT(pid, 0);
  auto client = server.Client();

  // Warm up what the daemon creates on first use (a stream's machinery, the metrics registry), then take the
  // baseline the end is held to.
  ASSERT_TRUE(client.Post("/v1/completions", R"({"model":"tiny","prompt":[5,6,7],"max_tokens":4,"stream":true})",
                          "application/json"));
  ASSERT_TRUE(client.Get("/metrics"));
  std::this_thread::sleep_for(milliseconds(300));
  const ProcessFigures start = Read(pid);

  // 1. The attackers connect: slowloris, stop-reading, disconnect-mid-prefill.
  AttackPlan plan;
  plan.port = server.port();
  plan.slowloris = sizes.slowloris;
  plan.stop_reading = sizes.stop_reading;
  plan.disconnect_mid_prefill = sizes.disconnect;
  // About 40 KB of SSE (100 tokens with 5 top logprobs, ~400 bytes a token), of which the client takes 8 KB.
  // The rest waits in the daemon's socket: Linux grows a loopback send buffer to tcp_wmem's maximum (4 MB by
  // default), more than the tiny model can write on one stream (16 choices x 127 tokens: ~0.8 MB), so the
  // daemon's writes do not block here; a write deadline is the transport's own tests' to show.
  plan.stop_reading_request = HttpPost(R"({"model":"tiny","prompt":)" + TokenIds(8) +
                                       R"(,"max_tokens":100,"logprobs":5,"stream":true,"ignore_eos":true})");
  plan.prefill_request = HttpPost(R"({"model":"tiny","prompt":)" + TokenIds(110) +
                                  R"(,"max_tokens":16,"stream":true,"ignore_eos":true})");
  AttackClients attack(plan);
  const auto attack_start = Clock::now();
  const bool established = attack.WaitEstablished(milliseconds(static_cast<int>(10000 + 2000 * scale)));
  const double establish_s = std::chrono::duration<double>(Clock::now() - attack_start).count();
  ProcessFigures peak = Read(pid);

  // 2. /health while they are open.
  std::vector<double> health_ms;
  std::string slow_probes;  // "#index: ms (status)" of each slow one
  int health_slow = 0, health_failed = 0;
  for (int i = 0; i < kHealthProbes && health_slow < 5; ++i) {
    const Probe p = ProbeHealth(server.port(), std::chrono::seconds(2));
    health_ms.push_back(p.ms);
    health_failed += p.status != 200;
    if (p.status != 200 || p.ms > kHealthLimitMs) {  // five slow answers settle it: stop waiting
      health_slow++;
      slow_probes += " #" + std::to_string(i) + ": " + std::to_string(static_cast<int>(p.ms)) + " ms (" +
                     std::to_string(p.status) + ")";
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
  const AttackCounts during = attack.counts();
  peak.threads = std::max(peak.threads, Read(pid).threads);

  // 3. The streams, with the attackers still connected.
  WorkloadOptions work;
  work.model = "tiny";
  work.num_prompts = sizes.streams;
  work.input_tokens = 8;
  work.output_tokens = 4;
  auto specs = RandomWorkload(work);
  ASSERT_TRUE(specs.ok()) << specs.status().ToString();
  HttpTarget target{"127.0.0.1", std::to_string(server.port()), ""};
  LoadOptions load;
  load.threads = 2;
  load.request_timeout_s = kSanitized ? 600 : 120;
  auto running = std::async(std::launch::async, [&] { return RunLoad(target, specs.value(), load); });
  while (running.wait_for(milliseconds(100)) != std::future_status::ready) {
    const ProcessFigures now = Read(pid);
    peak.fds = std::max(peak.fds, now.fds);
    peak.threads = std::max(peak.threads, now.threads);
    peak.rss_kb = std::max(peak.rss_kb, now.rss_kb);
  }
  auto result = running.get();
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  const AttackCounts before_stop = attack.counts();
  attack.Stop();

  // 4. Afterwards: nothing running, queued or holding a slot, descriptors and threads back to where they were.
  // 64 MB above the start in a plain build. A sanitized daemon keeps freed memory on purpose (ASan's quarantine
  // holds up to 256 MB of freed blocks to catch use after free; TSan's allocator caches per thread): there the
  // bound only says memory did not grow without limit.
  // And 64 MB for every 10,000 connections beyond the short soak's: glibc keeps the pages its heap grew to
  // where live objects are spread over them (malloc_trim returns only whole free pages). That is a high-water
  // mark, not a leak: one daemon given three bursts of 5,000 streams ended each at 58, 70 and 52 MB.
  const long rss_budget_kb = (kSanitized ? 512 : 64) * 1024L * std::max(1L, std::lround(scale));
  // The daemon gives memory back within 5 s of a burst's end (HttpServer's malloc_trim): the wait covers it.
  const auto settle_deadline = Clock::now() + std::chrono::seconds(kSanitized ? 20 : 10);
  std::string metrics;
  ProcessFigures end;
  auto settled = [&] {
    return MetricSum(metrics, "fpgaserve_num_requests_running") == 0 &&
           MetricSum(metrics, "fpgaserve_num_requests_waiting") == 0 &&
           MetricSum(metrics, "fpgaserve_card_kv_slots_used") == 0 && end.fds <= start.fds + 4 &&
           end.threads <= start.threads + 4 && end.rss_kb < start.rss_kb + rss_budget_kb;
  };
  do {
    std::this_thread::sleep_for(milliseconds(200));
    auto res = client.Get("/metrics");
    metrics = res ? res->body : "";
    end = Read(pid);
  } while (!settled() && Clock::now() < settle_deadline);

  // The figures, for the README.
  int ok = 0, rejected = 0;
  std::map<std::string, int> other;
  std::string first_error;
  int without_usage = 0;
  for (const RequestRecord& r : result.value().records) {
    if (r.ok()) {
      ok++;
      without_usage += !r.done || !r.usage_reported;
    } else if (r.outcome == RequestOutcome::kHttpStatus && r.http_status == 429) {
      rejected++;
    } else {
      other[r.FailureKey()]++;
      if (first_error.empty()) first_error = r.error;
    }
  }
  std::printf(
      "soak: attackers established: %s in %.1f s (slowloris open %d of %d, connects %d, closed by the "
      "server %d, header lines sent %d; stop-reading heads %d, closed early %d; mid-prefill done %d; connect errors "
      "%d)\n",
      established ? "all" : "NOT all", establish_s, during.slowloris_open, sizes.slowloris, during.slowloris_connects,
      during.slowloris_closed_by_server, during.slowloris_lines_sent, during.stop_reading_heads,
      during.stop_reading_closed_early, during.prefill_sent_and_closed, during.connect_errors);
  std::printf(
      "soak: /health under attack: %zu probes, p50 %.1f ms, p99 %.1f ms, max %.1f ms, %d over %.0f ms, "
      "%d without a 200\n",
      health_ms.size(), Percentile(health_ms, 0.5), Percentile(health_ms, 0.99),
      health_ms.empty() ? 0 : *std::max_element(health_ms.begin(), health_ms.end()), health_slow, kHealthLimitMs,
      health_failed);
  std::printf("soak: streams: %d ok, %d answered 429, %d otherwise, in %.1f s\n", ok, rejected,
              static_cast<int>(result.value().records.size()) - ok - rejected, result.value().duration_s);
  std::printf(
      "soak: daemon threads %d at start, %d at peak, %d at end; fds %d / %d / %d; RSS %.1f / %.1f / "
      "%.1f MB\n",
      start.threads, peak.threads, end.threads, start.fds, peak.fds, end.fds, start.rss_kb / 1024.0,
      peak.rss_kb / 1024.0, end.rss_kb / 1024.0);
  std::printf("soak: after: running %g, waiting %g, slots used %g\n",
              MetricSum(metrics, "fpgaserve_num_requests_running"),
              MetricSum(metrics, "fpgaserve_num_requests_waiting"), MetricSum(metrics, "fpgaserve_card_kv_slots_used"));
  // The transport's own counters (-1: a daemon without them).
  std::printf(
      "soak: transport: connections %g, rejected at the cap %g, deadline expiries %g (idle %g, request %g, "
      "write %g)\n",
      MetricSum(metrics, "fpgaserve_http_connections_total"),
      MetricSum(metrics, "fpgaserve_http_connections_rejected_total"),
      MetricSum(metrics, "fpgaserve_http_deadline_expired_total"),
      MetricSum(metrics, "fpgaserve_http_deadline_expired_total{phase=\"idle\"}"),
      MetricSum(metrics, "fpgaserve_http_deadline_expired_total{phase=\"request\"}"),
      MetricSum(metrics, "fpgaserve_http_deadline_expired_total{phase=\"write\"}"));

  // The checks.
  EXPECT_TRUE(established) << "the attackers could not all connect and send within the wait";
  // The probes mean something only if the slowloris connections were there (a header deadline may close a
  // few, which then come back after a second).
  EXPECT_GE(during.slowloris_open, sizes.slowloris * 9 / 10) << "slowloris connections were not open";
  EXPECT_GT(during.slowloris_lines_sent, 0);
  EXPECT_EQ(health_failed, 0) << "/health did not answer 200 under attack";
  EXPECT_LE(health_slow, kHealthSlowAllowed) << "/health answers over " << kHealthLimitMs << " ms while "
                                             << sizes.slowloris << " slowloris connections were open:" << slow_probes;
  EXPECT_LT(health_ms.empty() ? 0 : *std::max_element(health_ms.begin(), health_ms.end()), kHealthMaxMs);
  EXPECT_TRUE(other.empty()) << "answers other than 200 and 429, e.g. " << other.begin()->first << " x "
                             << other.begin()->second << ": " << first_error;
  EXPECT_EQ(static_cast<int>(result.value().records.size()), sizes.streams);
  EXPECT_GT(ok, 0);
  // A 200 stream that ends cleanly carries its usage chunk, the last before data: [DONE].
  EXPECT_EQ(without_usage, 0) << "200 streams without their usage chunk and data: [DONE]";
  for (const auto& [status, n] : before_stop.stop_reading_status) {
    EXPECT_TRUE(status == 200 || status == 429) << n << " stop-reading clients got " << status;
  }
  // The transport's threads do not follow the connections: with this many open, a thread per connection
  // (or a pool sized for them) is in the hundreds. The rest of the daemon is about ten (main, engine, card
  // worker, the card's kernel thread, energy sampler, signals); 64 leaves room for I/O threads, one a core
  // on a large machine.
  EXPECT_LT(peak.threads, 64) << "daemon threads with " << sizes.slowloris + sizes.stop_reading << "+ connections open";
  EXPECT_EQ(MetricSum(metrics, "fpgaserve_num_requests_running"), 0);
  EXPECT_EQ(MetricSum(metrics, "fpgaserve_num_requests_waiting"), 0);
  EXPECT_EQ(MetricSum(metrics, "fpgaserve_card_kv_slots_used"), 0);
  EXPECT_LE(end.fds, start.fds + 4) << "descriptors left open";
  EXPECT_GE(end.fds, start.fds - 4);
  EXPECT_LE(end.threads, start.threads + 4) << "threads left running";
  EXPECT_LT(end.rss_kb, start.rss_kb + rss_budget_kb) << "resident memory did not come back";
  auto health = client.Get("/health");
  EXPECT_TRUE(health && health->status == 200) << "/health after the soak";
  if (HasFailure()) {  // the daemon's log lines other than its 200s and the slowloris' unfinished requests
    std::istringstream log(server.log());
    int shown = 0;
    for (std::string line; std::getline(log, line) && shown < 40;) {
      if (line.find("status=200") == std::string::npos && line.find("path=/health status=400") == std::string::npos) {
        std::printf("soak: daemon: %s\n", line.c_str());
        shown++;
      }
    }
  }
}

}  // namespace
}  // namespace fpgaserve::testing
