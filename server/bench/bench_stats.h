// The figures of one run, computed from its request records: throughput, goodput and latency
// distributions, with vLLM's definitions (so numbers compare with `vllm bench serve`):
//   TTFT  time from sending to the first chunk with content
//   TPOT  (e2el - ttft) / (output tokens - 1), per request with more than one output token
//   ITL   gaps between consecutive content chunks, pooled over all requests
//   E2EL  time from sending to the end of the response
// Percentiles interpolate linearly between order statistics (numpy's default).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "server/bench/load_client.h"

namespace fpgaserve {

// Service-level objectives in milliseconds; a request is "good" when it meets every one that is set.
struct Slo {
  std::optional<double> ttft_ms, tpot_ms, e2el_ms;
  bool any() const { return ttft_ms || tpot_ms || e2el_ms; }
};

// Parses "ttft=200,tpot=50" (keys ttft, tpot, e2el; values in ms). "" is no SLO.
Result<Slo> ParseSlo(const std::string& text);

struct Distribution {
  double mean = 0, std = 0, median = 0, p90 = 0, p99 = 0, min = 0, max = 0;
};

// Every value is 0 for an empty sample.
Distribution Summarize(std::vector<double> values);
// The p-th percentile (0..100) of `sorted`, linear between ranks. REQUIRES: sorted ascending, non-empty.
double Percentile(const std::vector<double>& sorted, double p);

// What the run was asked to do, echoed into the report.
struct RunConfig {
  int max_concurrency = 0;  // 0: no cap
  double request_rate = 0;  // infinity: all at once
  double burstiness = 1.0;
};

// The server's power at one moment of a run (power_sampler.h): fpgaserve_device_power_watts per device,
// the cards' when any card reports one, else the host's (the preference of EnergyBetween).
struct PowerSample {
  double t_s = 0;                       // seconds since the run's start
  std::map<std::string, double> watts;  // device -> W; never empty
};

struct BenchStats {
  RunConfig config;
  int num_prompts = 0;  // requests in the run, sent or not
  int completed = 0;
  int failed = 0;
  int not_sent = 0;
  std::map<std::string, int> errors_by_status;                                       // FailureKey() -> count
  double duration = 0;                                                               // seconds
  long long total_input_tokens = 0, total_output_tokens = 0;                         // of completed requests
  double request_throughput = 0, output_throughput = 0, total_token_throughput = 0;  // per second
  std::optional<double> goodput;  // good requests per second, when an SLO was given
  int good_requests = 0;
  Distribution ttft_ms, tpot_ms, itl_ms, e2el_ms;
  // The server's energy over the run (fpgaserve_energy_joules_total before and after; bench serve sets
  // it): nullopt when nothing measured it. energy_source: "cards" or "host".
  std::optional<double> energy_joules;
  std::string energy_source;
  // The server's power sampled during the run, in time order (bench serve sets it); empty when the server
  // reports no power or sampling was off.
  std::vector<PowerSample> power_samples;
  // Samples kept for plots, in ms.
  std::vector<double> ttft_samples, itl_samples, e2el_samples;
};

BenchStats ComputeStats(const LoadResult& result, const RunConfig& config, const Slo& slo);

}  // namespace fpgaserve
