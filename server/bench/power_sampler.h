// PowerSampler: the server's power over a benchmark run. A thread scrapes the server's /metrics every
// interval and keeps fpgaserve_device_power_watts per device (energy_report.h: the cards', else the
// host's), with the time since the sampler was constructed (bench serve constructs it just before a run).
//
// It does not disturb the load: every scrape is its own blocking request on its own connection and
// io_context (HttpFetch), on the sampler's thread, never the load client's. A scrape that fails (no
// answer, not 200, no power series: a server other than fpgaserve, or no sensor) is skipped, never an error.
//
// Time: sample times and the waits between scrapes are on the injected clock, so tests drive it with a fake one.
//
// Threading: SampleOnce from one thread at a time, and not while Start's thread runs; Stop from the thread
// that called Start. Lifetime: `clock` must outlive the sampler.
#pragma once

#include <chrono>
#include <condition_variable>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/mutex.h"
#include "server/bench/bench_stats.h"
#include "server/bench/http_target.h"

namespace fpgaserve {

struct PowerSamplerOptions {
  std::chrono::milliseconds interval{500};         // between the starts of two scrapes; must be positive
  std::chrono::milliseconds scrape_timeout{1000};  // a scrape slower than this is skipped
  std::string api_key;                             // sent as a Bearer token when non-empty
};

class PowerSampler {
 public:
  // Time 0 of the samples is now, on `clock`.
  PowerSampler(const HttpTarget& target, const PowerSamplerOptions& options, Clock* clock);
  ~PowerSampler();  // stops the thread, if running
  PowerSampler(const PowerSampler&) = delete;
  PowerSampler& operator=(const PowerSampler&) = delete;

  // Scrapes once; returns true and keeps a sample when the server reported power, else false (skipped).
  // Blocks up to scrape_timeout.
  bool SampleOnce();
  // A thread calling SampleOnce at once and then every interval until Stop.
  // REQUIRES: not running; options.interval > 0.
  void Start();
  // Stops the thread (waiting at most for the scrape in progress, scrape_timeout) and returns every
  // sample kept since construction, in time order; the sampler keeps none afterwards. Callable without Start.
  std::vector<PowerSample> Stop();

 private:
  void Loop();

  // Constant after construction.
  const HttpTarget target_;
  const PowerSamplerOptions options_;
  Clock* const clock_;
  const std::chrono::steady_clock::time_point origin_;

  std::vector<PowerSample> samples_;  // written by SampleOnce only; read by Stop after the join

  Mutex mu_;
  std::condition_variable wake_;
  bool stop_ GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace fpgaserve
