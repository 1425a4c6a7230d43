// Energy per token in the benchmark reports: the /metrics counters parsed, the energy between two scrapes,
// and — from an injected sensor through the sampler, the metrics and the scrape — a report that shows mWh
// per output token, or "n/a" when nothing measured it.
#include "server/bench/energy_report.h"

#include <chrono>
#include <deque>
#include <string>

#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "base/clock.h"
#include "fpga/energy_sampler.h"
#include "server/bench/bench_report.h"
#include "server/engine/energy_metrics.h"
#include "support/test_support.h"

namespace fpgaserve {
namespace {

constexpr const char* kMetrics = R"m(# HELP fpgaserve_energy_joules_total Energy used by a card or the host
# TYPE fpgaserve_energy_joules_total counter
fpgaserve_energy_joules_total{device="xrt0 (0000:3b:00.1)",model="stories110M"} 1234.5
fpgaserve_energy_joules_total{model="stories110M",device="host"} 99 1700000000000
fpgaserve_energy_joules_total{device="broken",model="m"} NaNish
fpgaserve_device_power_watts{device="xrt0 (0000:3b:00.1)",model="stories110M"} 23.4
fpgaserve_generation_tokens_total{model="stories110M"} 5000
)m";

TEST(EnergyReport, ParsesTheEnergyCountersOfAMetricsPage) {
  const std::map<std::string, double> c = ParseEnergyCounters(kMetrics);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_DOUBLE_EQ(c.at("xrt0 (0000:3b:00.1)"), 1234.5);
  EXPECT_DOUBLE_EQ(c.at("host"), 99);
  EXPECT_TRUE(ParseEnergyCounters("").empty());
  EXPECT_TRUE(ParseEnergyCounters("fpgaserve_energy_joules_total{device=\"x\"").empty());
}

TEST(EnergyReport, ParsesThePowerGaugesOfAMetricsPageWithTheSameParser) {
  const std::map<std::string, double> w = ParsePowerGauges(
      std::string(kMetrics) +
      "fpgaserve_device_power_watts{model=\"m\",device=\"host\"} 61.5\n"
      "fpgaserve_device_power_watts_other{device=\"x\"} 7\n"
      "fpgaserve_device_power_watts{model=\"m\"} 3\n");
  ASSERT_EQ(w.size(), 2u) << "only the power gauges with a device label";
  EXPECT_DOUBLE_EQ(w.at("xrt0 (0000:3b:00.1)"), 23.4);
  EXPECT_DOUBLE_EQ(w.at("host"), 61.5);
  EXPECT_EQ(ParseEnergyCounters(kMetrics).count("host"), 1u) << "the energy counters are not power";
  EXPECT_EQ(ParseDeviceSeries(kMetrics, "fpgaserve_generation_tokens_total").size(), 0u) << "no device label";
}

TEST(EnergyReport, PreferCardsKeepsTheCardsElseTheHost) {
  std::string source;
  EXPECT_EQ(PreferCards({{"xrt0", 20}, {"xrt1", 21}, {"host", 60}}, &source),
            (std::map<std::string, double>{{"xrt0", 20}, {"xrt1", 21}}));
  EXPECT_EQ(source, "cards");
  EXPECT_EQ(PreferCards({{"host", 60}}, &source), (std::map<std::string, double>{{"host", 60}}));
  EXPECT_EQ(source, "host");
  EXPECT_TRUE(PreferCards({}, &source).empty());
  EXPECT_EQ(source, "");
}

TEST(EnergyReport, PrefersTheCardsAndSaysNaWhenNothingMeasured) {
  const std::map<std::string, double> before = {{"xrt0", 100}, {"xrt1", 50}, {"host", 10}};
  const std::map<std::string, double> after = {{"xrt0", 130}, {"xrt1", 60}, {"host", 40}};
  EnergyUse e = EnergyBetween(before, after);
  EXPECT_EQ(e.joules, 40);
  EXPECT_EQ(e.source, "cards");
  e = EnergyBetween({{"host", 10}}, {{"host", 46}});
  EXPECT_EQ(e.joules, 36);
  EXPECT_EQ(e.source, "host");
  EXPECT_FALSE(EnergyBetween({}, {}).joules.has_value());
  EXPECT_FALSE(EnergyBetween({}, {{"xrt0", 5}}).joules.has_value()) << "a counter that appeared mid-run";
  EXPECT_FALSE(EnergyBetween({{"xrt0", 500}}, {{"xrt0", 5}}).joules.has_value()) << "the server restarted";
  EXPECT_EQ(FormatEnergyPerToken({std::nullopt, ""}, 100), "n/a");
  EXPECT_EQ(FormatEnergyPerToken({36.0, "host"}, 0), "n/a");
  EXPECT_EQ(FormatEnergyPerToken({36.0, "host"}, 100), "0.36 J, 0.1 mWh per output token (host)");
}

class ConstantSensor final : public DeviceSensor {
 public:
  explicit ConstantSensor(double watts) : watts_(watts) {}
  SensorReading Read() override {
    SensorReading r;
    r.watts = watts_;
    r.celsius = 60;
    return r;
  }

 private:
  double watts_;
};

TEST(EnergyReport, ABenchReportShowsMwhPerTokenFromAnInjectedSensor) {
  // A card drawing 9 W (HLSTransform's F1 figure) serves 57 tokens a second for 10 s.
  prometheus::Registry registry;
  EnergyMetrics metrics(registry, "stories110M");
  FakeClock clock;
  ConstantSensor card(9);
  EnergySampler sampler({}, &clock);
  sampler.AddDevice("xrt0", &card);
  sampler.SetListener([&](const std::vector<DeviceEnergy>& d) { metrics.Update(d); });
  auto scrape = [&] { return ParseEnergyCounters(prometheus::TextSerializer().Serialize(registry.Collect())); };

  sampler.SampleOnce();
  clock.Advance(std::chrono::seconds(1));
  sampler.SampleOnce();  // the counter exists from the first integrated second
  const std::map<std::string, double> before = scrape();
  for (int s = 0; s < 10; s++) {
    clock.Advance(std::chrono::seconds(1));
    sampler.SampleOnce();
  }
  const std::map<std::string, double> after = scrape();
  const EnergyUse energy = EnergyBetween(before, after);
  ASSERT_TRUE(energy.joules.has_value());
  EXPECT_DOUBLE_EQ(*energy.joules, 90);

  BenchStats run;
  run.completed = 10;
  run.total_output_tokens = 570;
  run.energy_joules = energy.joules;
  run.energy_source = energy.source;
  const std::string table = FormatRunTable(run);
  EXPECT_NE(table.find("Energy per output token:"), std::string::npos) << table;
  EXPECT_NE(table.find("0.1579 J, 0.04386 mWh per output token (cards)"), std::string::npos) << table;
  const nlohmann::json j = RunToJson(run);
  EXPECT_NEAR(j["mwh_per_output_token"].get<double>(), 90.0 / 570 / 3.6, 1e-12);
  EXPECT_EQ(j["energy_source"], "cards");

  // No sensor: n/a in the table, null in the JSON.
  BenchStats bare;
  bare.total_output_tokens = 570;
  EXPECT_NE(FormatRunTable(bare).find("n/a"), std::string::npos);
  EXPECT_TRUE(RunToJson(bare)["mwh_per_output_token"].is_null());
}

TEST(EnergyMetricsTest, PowerGaugesVanishWhileTheSensorIsSilentAndTheCounterStays) {
  prometheus::Registry registry;
  EnergyMetrics metrics(registry, "m");
  DeviceEnergy d;
  d.device = "xrt0";
  d.watts = 20;
  d.celsius = 50;
  d.joules = 100;
  d.has_energy = true;
  metrics.Update({d});
  std::string text = prometheus::TextSerializer().Serialize(registry.Collect());
  EXPECT_NE(text.find("fpgaserve_device_power_watts{device=\"xrt0\",model=\"m\"} 20"), std::string::npos) << text;
  EXPECT_NE(text.find("fpgaserve_device_temperature_celsius{device=\"xrt0\",model=\"m\"} 50"), std::string::npos);
  d.watts.reset();
  d.celsius.reset();
  metrics.Update({d});
  text = prometheus::TextSerializer().Serialize(registry.Collect());
  EXPECT_EQ(text.find("fpgaserve_device_power_watts{"), std::string::npos) << "no made-up value while unavailable";
  EXPECT_NE(text.find("fpgaserve_energy_joules_total{device=\"xrt0\",model=\"m\"} 100"), std::string::npos) << text;
  DeviceEnergy none;
  none.device = "sim0";
  metrics.Update({none});
  text = prometheus::TextSerializer().Serialize(registry.Collect());
  EXPECT_EQ(text.find("device=\"sim0\""), std::string::npos) << "a device without a sensor has no series";
}

}  // namespace
}  // namespace fpgaserve
