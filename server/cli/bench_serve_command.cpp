// fpgaserve bench serve: a load generator for any OpenAI-compatible server (ours or another), in the
// manner of `vllm bench serve`: streaming requests at fixed concurrencies or request rates, figures per run
// on stdout, optionally a JSON file and an HTML report. A benchmark: it fails only when nothing completed.
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/open_file_limit.h"
#include "base/parse_number.h"
#include "server/bench/bench_report.h"
#include "server/bench/bench_stats.h"
#include "server/bench/energy_report.h"
#include "server/bench/http_target.h"
#include "server/bench/load_client.h"
#include "server/bench/power_sampler.h"
#include "server/bench/workload.h"
#include "server/cli/commands.h"

namespace fpgaserve::cli {
namespace {

struct ServeBenchOptions {
  std::string url = "http://127.0.0.1:8080";
  std::string model;
  std::string endpoint = "completions";
  std::string dataset;
  std::string prompt = "auto";
  int input_tokens = 64;
  int output_tokens = 64;
  int num_prompts = 200;
  int vocab_size = 512;
  std::vector<int> concurrency;              // empty: no cap
  std::vector<std::string> rates = {"inf"};  // requests per second, or inf
  double burstiness = 1.0;
  double max_seconds = 0;
  double grace = 10;
  double timeout = 600;  // so a run against a server that hangs still ends, even without --max-seconds
  uint64_t seed = 0;
  std::string slo;
  std::string json_path;
  std::string html_path;
  std::string api_key;
  int client_threads = 1;
  int power_interval_ms = 500;  // 0: no power sampling
  bool quiet = false;
};

// The command as typed, for the report: argv from /proc (CLI11 does not keep it), the program named
// "fpgaserve", arguments shell-quoted, and the API key masked so reports can be shared.
std::string CommandLine() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::vector<std::string> args;
  std::string arg;
  while (std::getline(in, arg, '\0')) args.push_back(arg);
  std::string line = "fpgaserve";
  for (size_t i = 1; i < args.size(); i++) {
    std::string a = args[i];
    if (i > 1 && args[i - 1] == "--api-key") a = "***";
    if (a.rfind("--api-key=", 0) == 0) a = "--api-key=***";
    const bool plain = !a.empty() && a.find_first_not_of(
                                         "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=.,/:@%+") ==
                                         std::string::npos;
    if (!plain) {
      std::string quoted = "'";
      for (char c : a) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
      a = quoted + "'";
    }
    line += " " + a;
  }
  return line;
}

std::string Now() {
  char buf[64];
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S%z", &tm);
  return buf;
}

double ParseRate(const std::string& text) {
  if (text == "inf" || text == "infinity") return std::numeric_limits<double>::infinity();
  if (const std::optional<double> r = ParseDouble(text); r && *r > 0) return *r;
  Fail("--rate \"" + text + "\" is not a positive number of requests per second or inf");
}

std::string DiscoverModel(const HttpTarget& target, const std::string& api_key) {
  auto reply = HttpFetch(target, "GET", "/v1/models", "", api_key, 10);
  if (!reply.ok()) Fail("no --model given and " + reply.status().message());
  const auto j = nlohmann::json::parse(reply->body, nullptr, false);
  if (reply->status != 200 || j.is_discarded() || !j.contains("data") || !j["data"].is_array() || j["data"].empty() ||
      !j["data"][0].contains("id") || !j["data"][0]["id"].is_string()) {
    Fail("no --model given and GET /v1/models (HTTP " + std::to_string(reply->status) + ") names none: pass --model");
  }
  return j["data"][0]["id"].get<std::string>();
}

// Words per token of the server's tokenizer, from its /tokenize endpoint (vLLM's and ours); 1.3 tokens
// per word (typical of 32k-vocabulary tokenizers on English) when it has none.
double CalibrateTokensPerWord(const HttpTarget& target, const std::string& model, const std::string& api_key,
                              bool quiet) {
  const int words = 200;
  nlohmann::json body = {{"model", model}, {"prompt", RandomWords(words, 12345)}};
  auto reply = HttpFetch(target, "POST", "/tokenize", body.dump(), api_key, 10);
  if (reply.ok() && reply->status == 200) {
    const auto j = nlohmann::json::parse(reply->body, nullptr, false);
    int count = 0;
    if (!j.is_discarded() && j.contains("count") && j["count"].is_number_integer()) count = j["count"].get<int>();
    else if (!j.is_discarded() && j.contains("tokens") && j["tokens"].is_array())
      count = static_cast<int>(j["tokens"].size());
    if (count > 0) return static_cast<double>(count) / words;
  }
  if (!quiet)
    std::fprintf(stderr,
                 "fpgaserve: the server has no usable /tokenize: assuming 1.3 tokens per word (usage reports the real "
                 "counts)\n");
  return 1.3;
}

// One line redrawn in place on stderr.
void DrawProgress(const LoadProgress& p, const std::string& label) {
  const int width = 30;
  const int filled = p.total > 0 ? width * p.done / p.total : width;
  std::fprintf(stderr, "\r%s [%s%s] %d/%d done, %d failed, %d in flight, %.1f s ", label.c_str(),
               std::string(filled, '#').c_str(), std::string(width - filled, ' ').c_str(), p.done, p.total, p.failed,
               p.in_flight, p.elapsed_s);
  std::fflush(stderr);
}

// The first failures of each kind, so no failure is only a number.
void ReportFailures(const LoadResult& result) {
  std::set<std::string> shown;
  for (const RequestRecord& r : result.records) {
    if (r.ok() || shown.count(r.FailureKey()) > 0) continue;
    shown.insert(r.FailureKey());
    std::fprintf(stderr, "fpgaserve: request failed (%s): %s\n", r.FailureKey().c_str(), r.error.c_str());
  }
}

// The server's energy counters (fpgaserve_energy_joules_total{device}); empty when it has none or its
// /metrics does not answer (a server other than fpgaserve): the report then says "n/a".
std::map<std::string, double> ScrapeEnergy(const HttpTarget& target, const std::string& api_key) {
  auto reply = HttpFetch(target, "GET", "/metrics", "", api_key, 10);
  if (!reply.ok() || reply->status != 200) return {};
  return ParseEnergyCounters(reply->body);
}

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) Fail("cannot write " + path);
}

void RunServeBench(const ServeBenchOptions& o) {
  auto target = ParseHttpUrl(o.url);
  if (!target.ok()) Fail(target.status().message());
  std::string api_key = o.api_key;
  if (api_key.empty()) {
    if (const char* env = std::getenv("OPENAI_API_KEY")) api_key = env;
  }
  auto slo = ParseSlo(o.slo);
  if (!slo.ok()) Fail(slo.status().message());
  if (!(o.burstiness > 0)) Fail("--burstiness must be positive");
  std::vector<double> rates;
  for (const std::string& r : o.rates) rates.push_back(ParseRate(r));
  std::vector<int> concurrencies = o.concurrency.empty() ? std::vector<int>{0} : o.concurrency;

  WorkloadOptions w;
  w.model = o.model.empty() ? DiscoverModel(*target, api_key) : o.model;
  w.endpoint = o.endpoint == "chat" ? Endpoint::kChat : Endpoint::kCompletions;
  w.num_prompts = o.num_prompts;
  w.input_tokens = o.input_tokens;
  w.output_tokens = o.output_tokens;
  w.vocab_size = o.vocab_size;
  w.seed = o.seed;
  const std::string prompt = o.prompt == "auto" ? (w.endpoint == Endpoint::kChat ? "text" : "ids") : o.prompt;
  w.prompt_kind = prompt == "text" ? PromptKind::kText : PromptKind::kTokenIds;
  std::string workload;
  Result<std::vector<RequestSpec>> specs = Status::Internal("unset");
  if (!o.dataset.empty()) {
    specs = DatasetWorkload(o.dataset, w);
    workload = "dataset " + o.dataset + ", " + std::to_string(w.num_prompts) + " requests";
  } else {
    if (w.prompt_kind == PromptKind::kText)
      w.tokens_per_word = CalibrateTokensPerWord(*target, w.model, api_key, o.quiet);
    specs = RandomWorkload(w);
    workload = std::string("random ") + (w.prompt_kind == PromptKind::kText ? "text" : "token ids") + ", " +
               std::to_string(w.input_tokens) + " in / " + std::to_string(w.output_tokens) + " out, " +
               std::to_string(w.num_prompts) + " requests";
  }
  if (!specs.ok()) Fail(specs.status().message());

  // A socket per stream, plus headroom for the rest of the process.
  int widest = 0;
  for (int c : concurrencies) widest = std::max(widest, c > 0 ? std::min(c, o.num_prompts) : o.num_prompts);
  const OpenFileLimit limit = RaiseOpenFileLimit(widest + 64L);
  if (!limit.warning.empty()) std::fprintf(stderr, "fpgaserve: %s\n", limit.warning.c_str());

  BenchReport report;
  report.command = CommandLine();
  report.url = target->Url();
  report.model = w.model;
  report.endpoint = EndpointPath(w.endpoint);
  report.date = Now();
  report.workload = workload;
  report.slo = o.slo;
  const bool show_progress = !o.quiet && isatty(STDERR_FILENO);
  for (int c : concurrencies) {
    for (double rate : rates) {
      LoadOptions lo;
      lo.path = EndpointPath(w.endpoint);
      lo.api_key = api_key;
      lo.max_concurrency = c;
      lo.arrivals = {rate, o.burstiness, o.seed};
      lo.max_seconds = o.max_seconds;
      lo.grace_seconds = o.grace;
      lo.request_timeout_s = o.timeout;
      lo.threads = o.client_threads;
      const std::string label = "c=" + ConcurrencyLabel(c) + " rate=" + RateLabel(rate);
      if (show_progress) lo.on_progress = [label](const LoadProgress& p) { DrawProgress(p, label); };
      const std::map<std::string, double> energy_before = ScrapeEnergy(*target, api_key);
      // The server's power over the run, scraped beside the load on the sampler's own connections.
      std::optional<PowerSampler> power;
      if (o.power_interval_ms > 0) {
        PowerSamplerOptions po;
        po.interval = std::chrono::milliseconds(o.power_interval_ms);
        po.api_key = api_key;
        power.emplace(*target, po, RealClock());
        power->Start();
      }
      auto result = RunLoad(*target, specs.value(), lo);
      std::vector<PowerSample> power_samples = power ? power->Stop() : std::vector<PowerSample>{};
      const std::map<std::string, double> energy_after = ScrapeEnergy(*target, api_key);
      if (show_progress) std::fprintf(stderr, "\n");
      if (!result.ok()) Fail(result.status().message());
      ReportFailures(*result);
      if (result->hard_stopped)
        std::fprintf(stderr, "fpgaserve: requests still running %.0f s after --max-seconds were cancelled\n", o.grace);
      report.runs.push_back(ComputeStats(*result, {c, rate, o.burstiness}, slo.value()));
      // Energy per token: the server's counters over the run (which also count any other traffic it had).
      const EnergyUse energy = EnergyBetween(energy_before, energy_after);
      report.runs.back().energy_joules = energy.joules;
      report.runs.back().energy_source = energy.source;
      report.runs.back().power_samples = std::move(power_samples);
      std::printf("%s", FormatRunTable(report.runs.back()).c_str());
      std::fflush(stdout);
    }
  }
  if (report.runs.size() > 1) std::printf("\n%s", FormatSweepTable(report.runs).c_str());
  if (!o.json_path.empty()) WriteText(o.json_path, ReportToJson(report).dump(2) + "\n");
  if (!o.html_path.empty()) WriteText(o.html_path, ReportToHtml(report));
  int completed = 0;
  for (const BenchStats& r : report.runs) completed += r.completed;
  if (completed == 0)
    Fail("no request completed: is the server at " + target->Url() + " up and serving " + w.model + "?");
}

}  // namespace

void AddBenchServeCommand(CLI::App& bench) {
  auto o = std::make_shared<ServeBenchOptions>();
  CLI::App* serve = bench.add_subcommand(
      "serve", "Load-test an OpenAI-compatible server: throughput and TTFT/TPOT/ITL/E2EL per concurrency or rate");
  serve->add_option("--url", o->url, "server base URL (http only)")->capture_default_str();
  serve->add_option("--model", o->model, "model name to request (default: the first of GET /v1/models)");
  serve->add_option("--endpoint", o->endpoint, "completions or chat")
      ->check(CLI::IsMember({"completions", "chat"}))
      ->capture_default_str();
  serve->add_option("--input-tokens", o->input_tokens, "prompt length of random prompts")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  serve->add_option("--output-tokens", o->output_tokens, "tokens generated per request (max_tokens with ignore_eos)")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  serve->add_option("--num-prompts", o->num_prompts, "requests per run")
      ->check(CLI::Range(1, 10000000))
      ->capture_default_str();
  serve
      ->add_option("--concurrency", o->concurrency,
                   "max requests in flight; a list sweeps, one run each (default: no cap)")
      ->delimiter(',')
      ->check(CLI::Range(1, 1000000));
  serve->add_option("--rate", o->rates, "requests per second, or inf (all at once); a list sweeps")
      ->delimiter(',')
      ->capture_default_str();
  serve
      ->add_option("--burstiness", o->burstiness,
                   "gamma shape of the arrival gaps: 1 Poisson, <1 burstier, >1 steadier")
      ->capture_default_str();
  serve->add_option("--max-seconds", o->max_seconds, "stop sending after this many seconds (0: no limit)")
      ->check(CLI::NonNegativeNumber);
  serve->add_option("--grace", o->grace, "then cancel requests still running after this many more seconds")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  serve->add_option("--timeout", o->timeout, "per-request timeout in seconds (0: none)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  serve->add_option("--dataset", o->dataset, "JSONL file, one {\"prompt\": ...} or {\"messages\": [...]} per line")
      ->check(CLI::ExistingFile);
  serve->add_option("--prompt", o->prompt, "random prompts as token ids (exact lengths) or text: auto, ids, text")
      ->check(CLI::IsMember({"auto", "ids", "text"}))
      ->capture_default_str();
  serve->add_option("--vocab-size", o->vocab_size, "random token ids are below this")->capture_default_str();
  serve->add_option("--seed", o->seed, "seed for prompts and arrival times")->capture_default_str();
  serve->add_option("--slo", o->slo, "goodput objectives in ms, e.g. ttft=500,tpot=50 (keys ttft, tpot, e2el)");
  serve->add_option("--json", o->json_path, "write every figure and the command to this JSON file");
  serve->add_option("--html", o->html_path, "write a self-contained HTML report with plots");
  serve->add_option("--api-key", o->api_key, "sent as a Bearer token (default: $OPENAI_API_KEY)");
  serve->add_option("--client-threads", o->client_threads, "threads running the client's event loop")
      ->check(CLI::Range(1, 16))
      ->capture_default_str();
  serve
      ->add_option(
          "--power-interval-ms", o->power_interval_ms,
          "scrape the server's power (/metrics) this often during each run, for the HTML report's power plot (0: off)")
      ->check(CLI::Range(0, 3600000))
      ->capture_default_str();
  serve->add_flag("--quiet", o->quiet, "no progress bar or notes on stderr");
  serve->callback([o] { RunServeBench(*o); });
}

}  // namespace fpgaserve::cli
