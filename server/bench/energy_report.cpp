#include "server/bench/energy_report.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace fpgaserve {

std::map<std::string, double> ParseEnergyCounters(std::string_view text) {
  std::map<std::string, double> out;
  const std::string_view name = "fpgaserve_energy_joules_total{";
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(at, end - at);
    at = end + 1;
    if (line.substr(0, name.size()) != name) continue;
    const size_t close = line.find('}');
    if (close == std::string_view::npos) continue;
    // The device label's value: device="..." (our names hold no quotes or backslashes).
    const std::string_view labels = line.substr(name.size(), close - name.size());
    const size_t d = labels.find("device=\"");
    if (d == std::string_view::npos) continue;
    const size_t q = labels.find('"', d + 8);
    if (q == std::string_view::npos) continue;
    const std::string device(labels.substr(d + 8, q - d - 8));
    // The value, then maybe a timestamp.
    std::string value(line.substr(close + 1));
    char* stop = nullptr;
    errno = 0;
    const double v = std::strtod(value.c_str(), &stop);
    if (stop == value.c_str() || errno != 0 || !std::isfinite(v) || v < 0) continue;
    out[device] = v;
  }
  return out;
}

EnergyUse EnergyBetween(const std::map<std::string, double>& before, const std::map<std::string, double>& after) {
  double cards = 0, host = 0;
  bool any_card = false, any_host = false;
  for (const auto& [device, joules] : after) {
    auto it = before.find(device);
    if (it == before.end() || joules < it->second) continue;
    if (device == "host") {
      host = joules - it->second;
      any_host = true;
    } else {
      cards += joules - it->second;
      any_card = true;
    }
  }
  if (any_card) return {cards, "cards"};
  if (any_host) return {host, "host"};
  return {std::nullopt, ""};
}

std::string FormatEnergyPerToken(const EnergyUse& energy, long long output_tokens) {
  if (!energy.joules || output_tokens <= 0) return "n/a";
  const double j = *energy.joules / static_cast<double>(output_tokens);
  char s[128];
  std::snprintf(s, sizeof s, "%.4g J, %.4g mWh per output token (%s)", j, JoulesToMilliwattHours(j),
                energy.source.c_str());
  return s;
}

}  // namespace fpgaserve
