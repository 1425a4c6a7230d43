// EnergySampler with a fake clock and fake sensors: trapezoid integration of power, energy counters,
// a sensor that stops answering and comes back, gaps too long to integrate, thermal limits, and the
// background thread's start and stop. No test sleeps: time is the fake clock's.
#include "fpga/energy_sampler.h"

#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <optional>
#include <thread>

#include <gtest/gtest.h>

namespace fpgaserve {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Gives the queued readings in turn, then repeats the last one.
class FakeSensor final : public DeviceSensor {
 public:
  void Push(SensorReading r) { queue_.push_back(std::move(r)); }
  void PushWatts(double w, std::optional<double> c = std::nullopt) {
    SensorReading r;
    r.watts = w;
    r.celsius = c;
    Push(r);
  }
  void PushNothing() { Push(SensorReading{std::nullopt, std::nullopt, std::nullopt, "sensor gone"}); }
  SensorReading Read() override {
    if (queue_.size() > 1) {
      SensorReading r = queue_.front();
      queue_.pop_front();
      return r;
    }
    return queue_.empty() ? SensorReading{} : queue_.front();
  }

 private:
  std::deque<SensorReading> queue_;
};

struct Fixture {
  FakeClock clock;
  FakeSensor sensor;
  EnergySampler sampler;
  explicit Fixture(EnergySamplerOptions o = {}) : sampler(o, &clock) { sampler.AddDevice("xrt0", &sensor); }
  DeviceEnergy At(std::chrono::steady_clock::duration after) {
    clock.Advance(after);
    sampler.SampleOnce();
    return sampler.Snapshot().at(0);
  }
};

TEST(EnergySampler, IntegratesPowerWithTrapezoids) {
  Fixture f;
  f.sensor.PushWatts(10);
  f.sensor.PushWatts(20);
  f.sensor.PushWatts(20);
  DeviceEnergy e = f.At(seconds(0));
  EXPECT_FALSE(e.has_energy) << "one reading is no interval";
  EXPECT_EQ(e.joules, 0);
  EXPECT_EQ(e.watts, 10);
  e = f.At(seconds(1));
  EXPECT_DOUBLE_EQ(e.joules, 15);  // (10 + 20) / 2 x 1 s
  EXPECT_TRUE(e.has_energy);
  e = f.At(seconds(3));
  EXPECT_DOUBLE_EQ(e.joules, 15 + 60);
  EXPECT_EQ(e.watts, 20);
}

TEST(EnergySampler, SurvivesASensorThatStopsAnsweringWithoutGuessingTheGap) {
  Fixture f;
  f.sensor.PushWatts(10);
  f.sensor.PushWatts(10);
  f.sensor.PushNothing();
  f.sensor.PushNothing();
  f.sensor.PushWatts(10);
  f.sensor.PushWatts(10);
  f.At(seconds(0));
  EXPECT_DOUBLE_EQ(f.At(seconds(1)).joules, 10);
  DeviceEnergy gone = f.At(seconds(1));
  EXPECT_FALSE(gone.watts.has_value()) << "unavailable, not the last value";
  EXPECT_DOUBLE_EQ(gone.joules, 10) << "the total stays";
  EXPECT_EQ(gone.note, "sensor gone");
  EXPECT_DOUBLE_EQ(f.At(seconds(5)).joules, 10);
  DeviceEnergy back = f.At(seconds(1));  // first reading after the gap: nothing added for the gap
  EXPECT_DOUBLE_EQ(back.joules, 10);
  EXPECT_EQ(back.watts, 10);
  EXPECT_DOUBLE_EQ(f.At(seconds(2)).joules, 30);
}

TEST(EnergySampler, DoesNotIntegrateAcrossAGapLongerThanMaxGap) {
  EnergySamplerOptions o;
  o.max_gap = milliseconds(5000);
  Fixture f(o);
  f.sensor.PushWatts(50);
  f.At(seconds(0));
  EXPECT_DOUBLE_EQ(f.At(seconds(6)).joules, 0) << "the sampler stalled; 300 J would be a guess";
  EXPECT_DOUBLE_EQ(f.At(seconds(2)).joules, 100);
}

TEST(EnergySampler, AnEnergyCounterIsAddedAsItGrowsAndNeverGoesBack) {
  Fixture f;
  auto counter = [](double j) {
    SensorReading r;
    r.energy_joules = j;
    return r;
  };
  f.sensor.Push(counter(0));
  f.sensor.Push(counter(40));
  f.sensor.Push(counter(5));  // the sensor restarted: nothing added, new base
  f.sensor.Push(counter(25));
  f.At(seconds(0));
  DeviceEnergy e = f.At(seconds(2));
  EXPECT_DOUBLE_EQ(e.joules, 40);
  ASSERT_TRUE(e.watts.has_value());
  EXPECT_DOUBLE_EQ(*e.watts, 20) << "power from the counter's increase";
  EXPECT_DOUBLE_EQ(f.At(seconds(1)).joules, 40);
  EXPECT_DOUBLE_EQ(f.At(seconds(1)).joules, 60);
}

TEST(EnergySampler, ASensorThatNeverAnswersHasNoEnergy) {
  Fixture f;
  f.sensor.PushNothing();
  for (int i = 0; i < 3; i++) f.At(seconds(1));
  const DeviceEnergy e = f.sampler.Snapshot().at(0);
  EXPECT_FALSE(e.has_energy);
  EXPECT_FALSE(e.watts.has_value());
  EXPECT_FALSE(e.celsius.has_value());
}

TEST(EnergySampler, ThermalLimitsMarkACardHotThenTooHot) {
  EnergySamplerOptions o;
  o.warn_celsius = 85;
  o.fail_celsius = 95;
  Fixture f(o);
  std::vector<ThermalState> seen;
  f.sampler.SetListener([&](const std::vector<DeviceEnergy>& all) { seen.push_back(all.at(0).thermal); });
  f.sensor.PushWatts(20, 70);
  f.sensor.PushWatts(20, 88);
  f.sensor.PushNothing();  // no reading: keeps "hot", does not declare it cool
  f.sensor.PushWatts(20, 96);
  f.sensor.PushWatts(20, 60);
  for (int i = 0; i < 5; i++) f.At(seconds(1));
  EXPECT_EQ(seen, (std::vector<ThermalState>{ThermalState::kOk, ThermalState::kHot, ThermalState::kHot,
                                             ThermalState::kTooHot, ThermalState::kOk}));
  EXPECT_STREQ(ThermalStateName(ThermalState::kTooHot), "too hot");
}

TEST(EnergySampler, TheBackgroundThreadSamplesAndStops) {
  FakeClock clock;
  FakeSensor sensor;
  sensor.PushWatts(5);
  EnergySamplerOptions o;
  o.period = milliseconds(3600 * 1000);  // the thread samples at once, then waits until stopped
  EnergySampler sampler(o, &clock);
  sampler.AddDevice("host", &sensor);
  std::promise<void> sampled;
  bool first = true;
  sampler.SetListener([&](const std::vector<DeviceEnergy>&) {
    if (first) sampled.set_value();
    first = false;
  });
  sampler.Start();
  sampled.get_future().wait();
  sampler.Stop();  // returns without waiting for the hour
  EXPECT_EQ(sampler.Snapshot().at(0).watts, 5);
}

// Start()'s thread waits its period on the injected clock: a second sample comes when the fake time has moved
// by a period, not before.
TEST(EnergySampler, TheBackgroundThreadSamplesEveryPeriodOfTheInjectedClock) {
  FakeClock clock;
  FakeSensor sensor;
  for (int i = 0; i < 3; i++) sensor.PushWatts(5);
  EnergySamplerOptions o;
  o.period = milliseconds(1000);
  EnergySampler sampler(o, &clock);
  sampler.AddDevice("host", &sensor);
  std::mutex mu;
  std::condition_variable cv;
  int samples = 0;
  sampler.SetListener([&](const std::vector<DeviceEnergy>&) {
    std::lock_guard<std::mutex> l(mu);
    samples++;
    cv.notify_all();
  });
  sampler.Start();
  std::unique_lock<std::mutex> l(mu);
  cv.wait(l, [&] { return samples == 1; });
  l.unlock();
  while (clock.Waiters() == 0) std::this_thread::yield();  // the thread waits its period from now on
  clock.Advance(milliseconds(999));
  std::this_thread::sleep_for(milliseconds(20));
  l.lock();
  EXPECT_EQ(samples, 1);
  l.unlock();
  clock.Advance(milliseconds(1));
  l.lock();
  cv.wait(l, [&] { return samples == 2; });
  l.unlock();
  sampler.Stop();
}

}  // namespace
}  // namespace fpgaserve
