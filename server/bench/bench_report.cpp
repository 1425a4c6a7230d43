#include "server/bench/bench_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "server/bench/energy_report.h"

namespace fpgaserve {

using nlohmann::json;

namespace {

std::string Line(const char* label, const std::string& value) {
  char buf[160];
  std::snprintf(buf, sizeof(buf), "%-40s %s\n", label, value.c_str());
  return buf;
}

std::string Num(double v, int decimals = 2) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, v);
  return buf;
}

std::string Heading(const std::string& title, char fill) {
  const int width = 50;
  const int pad = std::max(0, width - static_cast<int>(title.size()) - 2);
  return std::string(pad / 2, fill) + " " + title + " " + std::string(pad - pad / 2, fill) + "\n";
}

void AddDistribution(json& j, const std::string& name, const Distribution& d) {
  j["mean_" + name + "_ms"] = d.mean;
  j["median_" + name + "_ms"] = d.median;
  j["std_" + name + "_ms"] = d.std;
  j["p90_" + name + "_ms"] = d.p90;
  j["p99_" + name + "_ms"] = d.p99;
  j["min_" + name + "_ms"] = d.min;
  j["max_" + name + "_ms"] = d.max;
}

std::string DistributionLines(const char* title, const char* name, const Distribution& d) {
  std::string s = Heading(title, '-');
  const std::string n(name);
  s += Line(("Mean " + n + " (ms):").c_str(), Num(d.mean));
  s += Line(("Median " + n + " (ms):").c_str(), Num(d.median));
  s += Line(("P90 " + n + " (ms):").c_str(), Num(d.p90));
  s += Line(("P99 " + n + " (ms):").c_str(), Num(d.p99));
  return s;
}

}  // namespace

std::string RateLabel(double rate) {
  return std::isinf(rate) || rate <= 0 ? "inf" : Num(rate, rate == std::floor(rate) ? 0 : 2);
}
std::string ConcurrencyLabel(int max_concurrency) {
  return max_concurrency > 0 ? std::to_string(max_concurrency) : "none";
}

std::string FormatRunTable(const BenchStats& r) {
  std::string s = Heading("Serving Benchmark Result", '=');
  s += Line("Max concurrency:", ConcurrencyLabel(r.config.max_concurrency));
  s += Line("Request rate (req/s):", RateLabel(r.config.request_rate));
  s += Line("Successful requests:", std::to_string(r.completed));
  s += Line("Failed requests:", std::to_string(r.failed));
  for (const auto& [key, count] : r.errors_by_status) s += Line(("  failed: " + key).c_str(), std::to_string(count));
  if (r.not_sent > 0) s += Line("Not sent (stopped by --max-seconds):", std::to_string(r.not_sent));
  s += Line("Benchmark duration (s):", Num(r.duration));
  s += Line("Total input tokens:", std::to_string(r.total_input_tokens));
  s += Line("Total generated tokens:", std::to_string(r.total_output_tokens));
  s += Line("Request throughput (req/s):", Num(r.request_throughput));
  if (r.goodput) s += Line("Request goodput (req/s):", Num(*r.goodput));
  s += Line("Output token throughput (tok/s):", Num(r.output_throughput));
  s += Line("Total token throughput (tok/s):", Num(r.total_token_throughput));
  s += Line("Energy per output token:",
            FormatEnergyPerToken({r.energy_joules, r.energy_source}, r.total_output_tokens));
  s += DistributionLines("Time to First Token", "TTFT", r.ttft_ms);
  s += DistributionLines("Time per Output Token (excl. 1st token)", "TPOT", r.tpot_ms);
  s += DistributionLines("Inter-token Latency", "ITL", r.itl_ms);
  s += DistributionLines("End-to-end Latency", "E2EL", r.e2el_ms);
  s += std::string(50, '=') + "\n";
  return s;
}

std::string FormatSweepTable(const std::vector<BenchStats>& runs) {
  std::string s;
  char buf[256];
  std::snprintf(buf, sizeof(buf), "%11s %8s %6s %6s %9s %10s %10s %10s %10s %10s\n", "concurrency", "rate", "ok",
                "failed", "req/s", "out tok/s", "p50 TTFT", "p99 TTFT", "p50 ITL", "p99 ITL");
  s += buf;
  for (const BenchStats& r : runs) {
    std::snprintf(buf, sizeof(buf), "%11s %8s %6d %6d %9.2f %10.1f %10.1f %10.1f %10.2f %10.2f\n",
                  ConcurrencyLabel(r.config.max_concurrency).c_str(), RateLabel(r.config.request_rate).c_str(),
                  r.completed, r.failed, r.request_throughput, r.output_throughput, r.ttft_ms.median, r.ttft_ms.p99,
                  r.itl_ms.median, r.itl_ms.p99);
    s += buf;
  }
  s += "(latencies in ms)\n";
  return s;
}

json RunToJson(const BenchStats& r) {
  json j;
  j["num_prompts"] = r.num_prompts;
  j["completed"] = r.completed;
  j["failed"] = r.failed;
  j["not_sent"] = r.not_sent;
  j["errors_by_status"] = r.errors_by_status;
  j["duration"] = r.duration;
  j["total_input_tokens"] = r.total_input_tokens;
  j["total_output_tokens"] = r.total_output_tokens;
  j["request_throughput"] = r.request_throughput;
  j["output_throughput"] = r.output_throughput;
  j["total_token_throughput"] = r.total_token_throughput;
  j["goodput"] = r.goodput ? json(*r.goodput) : json(nullptr);
  j["request_goodput"] = j["goodput"];  // vLLM's name for the same figure
  j["good_requests"] = r.good_requests;
  j["max_concurrency"] = r.config.max_concurrency > 0 ? json(r.config.max_concurrency) : json(nullptr);
  j["request_rate"] = std::isinf(r.config.request_rate) || r.config.request_rate <= 0 ? json("inf")
                                                                                      : json(r.config.request_rate);
  j["burstiness"] = r.config.burstiness;
  // Energy: null when nothing measured it (no sensor), never a guess.
  const bool energy = r.energy_joules.has_value() && r.total_output_tokens > 0;
  j["energy_joules"] = r.energy_joules ? json(*r.energy_joules) : json(nullptr);
  j["energy_source"] = r.energy_joules ? json(r.energy_source) : json(nullptr);
  j["joules_per_output_token"] = energy ? json(*r.energy_joules / r.total_output_tokens) : json(nullptr);
  j["mwh_per_output_token"] = energy ? json(JoulesToMilliwattHours(*r.energy_joules / r.total_output_tokens))
                                     : json(nullptr);
  // Power during the run: [{"t_s": 0.5, "watts": {"xrt0": 23.4}}, ...]; [] when none was sampled.
  j["power_samples"] = json::array();
  for (const PowerSample& p : r.power_samples) j["power_samples"].push_back({{"t_s", p.t_s}, {"watts", p.watts}});
  AddDistribution(j, "ttft", r.ttft_ms);
  AddDistribution(j, "tpot", r.tpot_ms);
  AddDistribution(j, "itl", r.itl_ms);
  AddDistribution(j, "e2el", r.e2el_ms);
  return j;
}

json ReportToJson(const BenchReport& report) {
  json j;
  if (report.runs.size() == 1) j = RunToJson(report.runs.front());
  j["command"] = report.command;
  j["date"] = report.date;
  j["base_url"] = report.url;
  j["model_id"] = report.model;
  j["endpoint"] = report.endpoint;
  j["workload"] = report.workload;
  j["slo"] = report.slo;
  j["runs"] = json::array();
  for (const BenchStats& r : report.runs) j["runs"].push_back(RunToJson(r));
  return j;
}

}  // namespace fpgaserve
