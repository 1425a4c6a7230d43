#include "fpga/energy_sampler.h"

#include <cmath>

#include <spdlog/spdlog.h>

#include "base/log_line.h"

namespace fpgaserve {
namespace {

// A temperature to one decimal, for the log.
double Tenths(double celsius) { return std::round(celsius * 10) / 10; }

}  // namespace

const char* ThermalStateName(ThermalState s) {
  switch (s) {
    case ThermalState::kOk: return "ok";
    case ThermalState::kHot: return "hot";
    case ThermalState::kTooHot: return "too hot";
  }
  return "?";
}

EnergySampler::EnergySampler(const EnergySamplerOptions& options, Clock* clock) : options_(options), clock_(clock) {}

EnergySampler::~EnergySampler() { Stop(); }

void EnergySampler::AddDevice(const std::string& name, DeviceSensor* sensor) {
  std::lock_guard<std::mutex> lock(mu_);
  Tracked t;
  t.sensor = sensor;
  t.state.device = name;
  devices_.push_back(std::move(t));
}

void EnergySampler::SetListener(Listener listener) { listener_ = std::move(listener); }

void EnergySampler::Integrate(Tracked& t, const SensorReading& r, std::chrono::steady_clock::time_point now) {
  const double dt = t.last_time ? std::chrono::duration<double>(now - *t.last_time).count() : 0;
  const bool close = t.last_time && dt > 0 && now - *t.last_time <= options_.max_gap;
  DeviceEnergy& s = t.state;
  if (r.energy_joules) {
    // A counter: its increase, whatever the gap (the counter saw it all). One that went backwards (a
    // sensor restarted) adds nothing and becomes the new base.
    s.watts = r.watts;
    if (t.last_counter && *r.energy_joules >= *t.last_counter && t.last_time && dt > 0) {
      const double added = *r.energy_joules - *t.last_counter;
      s.joules += added;
      s.has_energy = true;
      if (!s.watts) s.watts = added / dt;
    }
    t.last_counter = r.energy_joules;
    t.last_time = now;
    t.last_watts.reset();
  } else if (r.watts) {
    s.watts = r.watts;
    if (t.last_watts && close) {
      s.joules += 0.5 * (*t.last_watts + *r.watts) * dt;
      s.has_energy = true;
    }
    t.last_watts = r.watts;
    t.last_time = now;
    t.last_counter.reset();
  } else {
    // Nothing measured this time: the gap until the next answer is not integrated.
    s.watts.reset();
    t.last_watts.reset();
    t.last_counter.reset();
    t.last_time.reset();
  }
}

void EnergySampler::UpdateThermal(Tracked& t) {
  DeviceEnergy& s = t.state;
  ThermalState next = ThermalState::kOk;
  if (s.celsius) {
    if (options_.fail_celsius && *s.celsius >= *options_.fail_celsius) {
      next = ThermalState::kTooHot;
    } else if (options_.warn_celsius && *s.celsius >= *options_.warn_celsius) {
      next = ThermalState::kHot;
    }
  } else {
    next = s.thermal;  // no reading: keep what was last known rather than declare it cool
  }
  if (next == s.thermal) return;
  if (next == ThermalState::kTooHot) {
    spdlog::error(
        LogLine("card too hot: taking it out of service",
                {{"card", s.device}, {"celsius", Tenths(*s.celsius)}, {"fail_celsius", *options_.fail_celsius}}));
  } else if (next == ThermalState::kHot) {
    spdlog::warn(
        LogLine("card runs hot",
                {{"card", s.device}, {"celsius", Tenths(*s.celsius)}, {"warn_celsius", *options_.warn_celsius}}));
  } else {
    spdlog::info(
        LogLine("card back under its temperature limits", {{"card", s.device}, {"celsius", Tenths(*s.celsius)}}));
  }
  s.thermal = next;
}

void EnergySampler::SampleOnce() {
  std::lock_guard<std::mutex> one(sample_mu_);
  std::vector<std::pair<size_t, DeviceSensor*>> sensors;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t i = 0; i < devices_.size(); i++) sensors.push_back({i, devices_[i].sensor});
  }
  // Sensors are read without mu_ held: an XRT query may take milliseconds, and Snapshot must not wait.
  std::vector<SensorReading> readings;
  std::vector<std::chrono::steady_clock::time_point> times;
  for (auto& [i, sensor] : sensors) {
    readings.push_back(sensor->Read());
    times.push_back(clock_->Now());
  }
  std::vector<DeviceEnergy> snapshot;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t k = 0; k < sensors.size(); k++) {
      Tracked& t = devices_[sensors[k].first];
      const SensorReading& r = readings[k];
      Integrate(t, r, times[k]);
      t.state.celsius = r.celsius;
      t.state.note = r.note;
      UpdateThermal(t);
    }
    for (const Tracked& t : devices_) snapshot.push_back(t.state);
  }
  if (listener_) listener_(snapshot);
}

void EnergySampler::Start() {
  std::lock_guard<std::mutex> lock(thread_mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> l(thread_mu_);
    while (!stop_) {
      l.unlock();
      SampleOnce();
      l.lock();
      clock_->WaitFor(l, thread_cv_, options_.period, [this] { return stop_; });
    }
  });
}

void EnergySampler::Stop() {
  std::thread t;
  {
    std::lock_guard<std::mutex> lock(thread_mu_);
    stop_ = true;
    t = std::move(thread_);
  }
  thread_cv_.notify_all();
  if (t.joinable()) t.join();
}

std::vector<DeviceEnergy> EnergySampler::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<DeviceEnergy> out;
  for (const Tracked& t : devices_) out.push_back(t.state);
  return out;
}

}  // namespace fpgaserve
