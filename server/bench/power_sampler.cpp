#include "server/bench/power_sampler.h"

#include "server/bench/energy_report.h"

namespace fpgaserve {

PowerSampler::PowerSampler(const HttpTarget& target, const PowerSamplerOptions& options, Clock* clock)
    : target_(target), options_(options), clock_(clock), origin_(clock->Now()) {}

PowerSampler::~PowerSampler() { Stop(); }

bool PowerSampler::SampleOnce() {
  const double timeout_s = std::chrono::duration<double>(options_.scrape_timeout).count();
  auto reply = HttpFetch(target_, "GET", "/metrics", "", options_.api_key, timeout_s);
  if (!reply.ok() || reply->status != 200) return false;
  PowerSample sample;
  sample.watts = PreferCards(ParsePowerGauges(reply->body));
  if (sample.watts.empty()) return false;
  sample.t_s = std::chrono::duration<double>(clock_->Now() - origin_).count();  // when the reading arrived
  samples_.push_back(std::move(sample));
  return true;
}

void PowerSampler::Start() {
  {
    MutexLock lock(&mu_);
    stop_ = false;
  }
  thread_ = std::thread([this] { Loop(); });
}

void PowerSampler::Loop() {
  // Scrapes start on a fixed grid; one that overran its slot pushes the grid on rather than bunching up.
  auto next = clock_->Now();
  MutexLock lock(&mu_);
  while (!stop_) {
    lock.Unlock();
    SampleOnce();
    lock.Lock();
    next += options_.interval;
    const auto now = clock_->Now();
    if (next < now) next = now + options_.interval;
    clock_->WaitUntil(lock.native(), wake_, next, [this] {
      mu_.AssertHeld();
      return stop_;
    });
  }
}

std::vector<PowerSample> PowerSampler::Stop() {
  {
    MutexLock lock(&mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::vector<PowerSample> samples;
  samples.swap(samples_);
  return samples;
}

}  // namespace fpgaserve
