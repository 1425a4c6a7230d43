#include "server/bench/bench_stats.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <sstream>

#include "base/parse_number.h"

namespace fpgaserve {

Result<Slo> ParseSlo(const std::string& text) {
  Slo slo;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    if (eq == std::string::npos) return Status::InvalidArgument("--slo item \"" + item + "\" is not KEY=MS");
    const std::string key = item.substr(0, eq);
    const std::optional<double> parsed = ParseDouble(std::string_view(item).substr(eq + 1));
    if (!parsed) return Status::InvalidArgument("--slo value in \"" + item + "\" is not a number of milliseconds");
    const double ms = *parsed;
    if (!(ms > 0)) return Status::InvalidArgument("--slo value in \"" + item + "\" must be positive");
    if (key == "ttft") slo.ttft_ms = ms;
    else if (key == "tpot") slo.tpot_ms = ms;
    else if (key == "e2el") slo.e2el_ms = ms;
    else return Status::InvalidArgument("--slo key \"" + key + "\" is not one of ttft, tpot, e2el");
  }
  return slo;
}

double Percentile(const std::vector<double>& sorted, double p) {
  const double rank = p / 100.0 * static_cast<double>(sorted.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(rank));
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - static_cast<double>(lo));
}

Distribution Summarize(std::vector<double> values) {
  Distribution d;
  if (values.empty()) return d;
  std::sort(values.begin(), values.end());
  const double n = static_cast<double>(values.size());
  d.mean = std::accumulate(values.begin(), values.end(), 0.0) / n;
  double sq = 0;
  for (double v : values) sq += (v - d.mean) * (v - d.mean);
  d.std = std::sqrt(sq / n);  // population std, as numpy's default
  d.median = Percentile(values, 50);
  d.p90 = Percentile(values, 90);
  d.p99 = Percentile(values, 99);
  d.min = values.front();
  d.max = values.back();
  return d;
}

BenchStats ComputeStats(const LoadResult& result, const RunConfig& config, const Slo& slo) {
  BenchStats s;
  s.config = config;
  s.not_sent = result.not_sent;
  s.num_prompts = static_cast<int>(result.records.size()) + result.not_sent;
  s.duration = result.duration_s;
  std::vector<double> tpot;
  for (const RequestRecord& r : result.records) {
    if (!r.ok()) {
      s.failed++;
      s.errors_by_status[r.FailureKey()]++;
      continue;
    }
    s.completed++;
    s.total_input_tokens += r.prompt_tokens;
    s.total_output_tokens += r.completion_tokens;
    const double ttft = r.ttft_s * 1e3, e2el = r.e2el_s * 1e3;
    s.ttft_samples.push_back(ttft);
    s.e2el_samples.push_back(e2el);
    for (double gap : r.itl_s) s.itl_samples.push_back(gap * 1e3);
    std::optional<double> request_tpot;
    if (r.completion_tokens > 1) {
      request_tpot = (e2el - ttft) / (r.completion_tokens - 1);
      tpot.push_back(*request_tpot);
    }
    // A request too short to have a TPOT meets a TPOT objective (vLLM counts it as 0).
    const bool good = (!slo.ttft_ms || ttft <= *slo.ttft_ms) &&
                      (!slo.tpot_ms || request_tpot.value_or(0) <= *slo.tpot_ms) &&
                      (!slo.e2el_ms || e2el <= *slo.e2el_ms);
    if (good) s.good_requests++;
  }
  if (s.duration > 0) {
    s.request_throughput = s.completed / s.duration;
    s.output_throughput = static_cast<double>(s.total_output_tokens) / s.duration;
    s.total_token_throughput = static_cast<double>(s.total_input_tokens + s.total_output_tokens) / s.duration;
    if (slo.any()) s.goodput = s.good_requests / s.duration;
  } else if (slo.any()) {
    s.goodput = 0.0;
  }
  s.ttft_ms = Summarize(s.ttft_samples);
  s.tpot_ms = Summarize(tpot);
  s.itl_ms = Summarize(s.itl_samples);
  s.e2el_ms = Summarize(s.e2el_samples);
  return s;
}

}  // namespace fpgaserve
