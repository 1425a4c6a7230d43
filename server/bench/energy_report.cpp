#include "server/bench/energy_report.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "base/parse_number.h"

namespace fpgaserve {

std::map<std::string, double> ParseDeviceSeries(std::string_view text, std::string_view metric) {
  std::map<std::string, double> out;
  const std::string name = std::string(metric) + "{";
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
    std::string_view value = line.substr(close + 1);
    value.remove_prefix(std::min(value.find_first_not_of(' '), value.size()));
    const std::optional<double> v = ParseDouble(value.substr(0, value.find(' ')));
    if (!v || *v < 0) continue;
    out[device] = *v;
  }
  return out;
}

std::map<std::string, double> PreferCards(const std::map<std::string, double>& by_device, std::string* source) {
  std::map<std::string, double> cards = by_device;
  const auto host = cards.find("host");
  if (host != cards.end()) cards.erase(host);
  std::string chosen = "cards";
  if (cards.empty()) {
    chosen = by_device.empty() ? "" : "host";
    cards = by_device;  // "host" alone, or nothing
  }
  if (source != nullptr) *source = chosen;
  return cards;
}

EnergyUse EnergyBetween(const std::map<std::string, double>& before, const std::map<std::string, double>& after) {
  // The devices measured over the whole interval: a counter in both scrapes that did not go down.
  std::map<std::string, double> spent;
  for (const auto& [device, joules] : after) {
    auto it = before.find(device);
    if (it != before.end() && joules >= it->second) spent[device] = joules - it->second;
  }
  std::string source;
  const std::map<std::string, double> chosen = PreferCards(spent, &source);
  if (chosen.empty()) return {std::nullopt, ""};
  double joules = 0;
  for (const auto& [device, j] : chosen) joules += j;
  return {joules, source};
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
