// Energy per token for the benchmarks: the server's fpgaserve_energy_joules_total{device} counters
// (server/engine/energy_metrics.h) read from /metrics before and after a run, and the figures printed
// beside tok/s. "n/a" whenever nothing measured it: no sensor, or no counter in one of the two scrapes.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace fpgaserve {

// device -> joules of every fpgaserve_energy_joules_total series in a Prometheus text exposition. Lines
// that are not such a sample (comments, other metrics, malformed values) are skipped.
std::map<std::string, double> ParseEnergyCounters(std::string_view metrics_text);

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
