// EnergySampler: reads every device's sensor on a period and integrates its power into energy, per device.
//
// Per sample (SampleOnce), for each device:
//   - a sensor with an energy counter (RAPL): the counter's increase is added, and the power shown is that
//     increase over the time since the last reading;
//   - a sensor with power only (an XRT card): the trapezoid between this reading and the last one is
//     added, when both had a power value and they are at most max_gap apart;
//   - a sensor that gives nothing this time (it stopped answering): nothing is added and its gauges go
//     "unavailable"; the total stays. When it answers again, integration resumes from that reading — the
//     gap is not filled in with a guess.
// So a device's joules never go backwards, and stay 0 ("n/a" in reports: has_energy false) for a device
// whose sensor never gave a power or energy value.
//
// Temperature: past warn_celsius a device is "hot" (logged once when it crosses, and in its snapshot); past
// fail_celsius it is "too hot" (logged as an error; the server takes such a card out of service as a failed
// card, server/cli/serve_command.cpp). Under warn_celsius again it is "ok" (logged).
//
// Time: every timestamp, and Start()'s wait between samples, come from the injected clock (base/clock.h), so
// tests drive SampleOnce and the background thread with a FakeClock.
//
// Threading: AddDevice before Start (or the first SampleOnce); SampleOnce from one thread at a time (the
// background thread once started); Snapshot from any thread. The listener runs on the sampling thread,
// after each sample, without the sampler's lock held.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "fpga/sensor.h"

namespace fpgaserve {

enum class ThermalState { kOk, kHot, kTooHot };
const char* ThermalStateName(ThermalState s);  // "ok", "hot", "too hot"

struct DeviceEnergy {
  std::string device;
  std::optional<double> watts;    // the last sample's power; nullopt: unavailable
  std::optional<double> celsius;  // the last sample's temperature; nullopt: unavailable
  double joules = 0;              // integrated since the sampler started; never decreases
  bool has_energy = false;        // at least one interval was integrated (else joules means "n/a")
  ThermalState thermal = ThermalState::kOk;
  std::string note;  // the sensor's reason for a missing value, "" when none
};

struct EnergySamplerOptions {
  std::chrono::milliseconds period{1000};    // between samples (Start's thread)
  std::chrono::milliseconds max_gap{10000};  // a longer gap between two power readings is not integrated
  std::optional<double> warn_celsius;        // "hot" at or past this; nullopt: no limit
  std::optional<double> fail_celsius;        // "too hot" at or past this; nullopt: no limit
};

class EnergySampler {
 public:
  using Listener = std::function<void(const std::vector<DeviceEnergy>&)>;

  // `clock` must outlive the sampler (RealClock() in the server).
  EnergySampler(const EnergySamplerOptions& options, Clock* clock);
  ~EnergySampler();  // stops the thread
  EnergySampler(const EnergySampler&) = delete;
  EnergySampler& operator=(const EnergySampler&) = delete;

  // REQUIRES: neither Start() nor SampleOnce() has been called. `sensor` must outlive the sampler.
  void AddDevice(const std::string& name, DeviceSensor* sensor);
  // Called after every sample with the snapshot. REQUIRES: before Start().
  void SetListener(Listener listener);

  // Reads every sensor once, at the clock's Now(), and integrates.
  void SampleOnce();
  // A thread calling SampleOnce every period until Stop() (or the destructor). Idempotent.
  void Start();
  void Stop();

  std::vector<DeviceEnergy> Snapshot() const;

 private:
  struct Tracked {
    DeviceSensor* sensor = nullptr;
    DeviceEnergy state;
    std::optional<std::chrono::steady_clock::time_point> last_time;  // of the last reading with power/energy
    std::optional<double> last_watts;
    std::optional<double> last_counter;
  };
  void Integrate(Tracked& t, const SensorReading& r, std::chrono::steady_clock::time_point now);
  void UpdateThermal(Tracked& t);

  // Constant after construction.
  const EnergySamplerOptions options_;
  Clock* const clock_;

  mutable std::mutex mu_;
  std::vector<Tracked> devices_;  // guarded by mu_ (the list is fixed once sampling begins)
  Listener listener_;             // set before Start
  std::mutex sample_mu_;          // one SampleOnce at a time

  std::mutex thread_mu_;
  std::condition_variable thread_cv_;
  bool stop_ = false;  // guarded by thread_mu_
  std::thread thread_;
};

}  // namespace fpgaserve
