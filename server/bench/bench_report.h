// What `bench serve` writes: the table on stdout, the JSON file (vLLM's field names where one exists,
// so existing scripts read it) and the self-contained HTML report (bench_html.cpp).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/bench/bench_stats.h"

namespace fpgaserve {

struct BenchReport {
  std::string command;  // the exact command line, shell-quoted
  std::string url;
  std::string model;
  std::string endpoint;          // the path, e.g. "/v1/completions"
  std::string date;              // ISO 8601, local time
  std::string workload;          // e.g. "random token ids, 64 in / 64 out" or "dataset prompts.jsonl"
  std::string slo;               // as given to --slo, "" for none
  std::vector<BenchStats> runs;  // in the order they ran
};

// vLLM-style block of one run's figures.
std::string FormatRunTable(const BenchStats& run);
// One line per run, for sweeps.
std::string FormatSweepTable(const std::vector<BenchStats>& runs);

// One run's figures: completed, failed, request_throughput, mean_ttft_ms, p99_itl_ms, errors_by_status...
nlohmann::json RunToJson(const BenchStats& run);
// {"command", "date", ..., "runs": [RunToJson...]}; with exactly one run its fields are also copied to
// the top level, so the file reads like vLLM's result JSON.
nlohmann::json ReportToJson(const BenchReport& report);

// A complete HTML page with inline SVG plots and no external references.
std::string ReportToHtml(const BenchReport& report);

// "∞" style labels: "inf" for an infinite rate, "none" for no concurrency cap.
std::string RateLabel(double rate);
std::string ConcurrencyLabel(int max_concurrency);

}  // namespace fpgaserve
