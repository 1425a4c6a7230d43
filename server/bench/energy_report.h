// Energy per token for the benchmarks: the server's fpgaserve_energy_joules_total{device} counters
// (server/engine/energy_metrics.h) read from /metrics before and after a run, and the figures printed
// beside tok/s. "n/a" whenever nothing measured it: no sensor, or no counter in one of the two scrapes.
// Also the fpgaserve_device_power_watts{device} gauges, which bench serve samples during a run
// (power_sampler.h).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace fpgaserve {

inline constexpr std::string_view kEnergyCounter = "fpgaserve_energy_joules_total";
inline constexpr std::string_view kPowerGauge = "fpgaserve_device_power_watts";

// device -> value of every `metric`{...,device="...",...} sample in a Prometheus text exposition. Lines
// that are not such a sample (comments, other metrics, no device label, values that are not finite and
// non-negative) are skipped; an empty map when there is none.
std::map<std::string, double> ParseDeviceSeries(std::string_view metrics_text, std::string_view metric);
// ParseDeviceSeries for the energy counters (joules) and the power gauges (watts).
inline std::map<std::string, double> ParseEnergyCounters(std::string_view metrics_text) {
  return ParseDeviceSeries(metrics_text, kEnergyCounter);
}
inline std::map<std::string, double> ParsePowerGauges(std::string_view metrics_text) {
  return ParseDeviceSeries(metrics_text, kPowerGauge);
}

// Which devices speak for the server: the cards (every device but "host") when any is present, as the
// cards are what serves; else "host" (RAPL) alone; else none. Returns that subset of `by_device`, and
// names it in `source` ("cards", "host" or "") when source is not null.
std::map<std::string, double> PreferCards(const std::map<std::string, double>& by_device,
                                          std::string* source = nullptr);

struct EnergyUse {
  std::optional<double> joules;  // nullopt: not measured
  std::string source;            // "cards" (the cards' own sensors), "host" (RAPL), "" when not measured
};

// The energy spent between two scrapes: the cards' counters when any card's counter is in both (the
// card is what serves), else the host's ("host"), else not measured. A counter that went down (the
// server restarted) makes that device unmeasured.
EnergyUse EnergyBetween(const std::map<std::string, double>& before, const std::map<std::string, double>& after);

// 1 mWh = 3.6 J.
inline double JoulesToMilliwattHours(double joules) { return joules / 3.6; }

// "0.420 J, 0.1167 mWh per output token (cards)" or "n/a" (no energy, or no output token).
std::string FormatEnergyPerToken(const EnergyUse& energy, long long output_tokens);

}  // namespace fpgaserve
