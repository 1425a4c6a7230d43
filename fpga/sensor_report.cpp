#include "fpga/sensor_report.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "base/parse_number.h"

namespace fpgaserve {
namespace {

constexpr double kMaxBoardWatts = 1000;  // the largest Alveo card is rated 225 W
constexpr double kMaxCelsius = 150;      // past any junction limit: a misread

// A number as Boost's JSON writer gives it (a string), or as a later XRT might (a number). Whole text only.
std::optional<double> Number(const nlohmann::json& v) {
  if (v.is_number()) return v.get<double>();
  if (!v.is_string()) return std::nullopt;
  return ParseDouble(v.get<std::string>());
}

bool Present(const nlohmann::json& sensor) {
  auto it = sensor.find("is_present");
  if (it == sensor.end()) return true;  // older reports do not say
  if (it->is_boolean()) return it->get<bool>();
  return it->is_string() && it->get<std::string>() == "true";
}

}  // namespace

XrtReportValue ParseXrtElectrical(std::string_view json) {
  const nlohmann::json j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return {std::nullopt, "the electrical report is not a JSON object"};
  auto it = j.find("power_consumption_watts");
  if (it == j.end()) return {std::nullopt, "the electrical report has no power_consumption_watts"};
  const std::optional<double> w = Number(*it);
  if (!w) return {std::nullopt, "the card reports no power (power_consumption_watts is " + it->dump() + ")"};
  if (*w <= 0) return {std::nullopt, "the card reports 0 W: no power sensor"};
  if (*w > kMaxBoardWatts) return {std::nullopt, "the card reports an implausible " + it->dump() + " W"};
  return {*w, ""};
}

XrtReportValue ParseXrtThermal(std::string_view json) {
  const nlohmann::json j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return {std::nullopt, "the thermal report is not a JSON object"};
  auto it = j.find("thermals");
  if (it == j.end() || !it->is_array()) return {std::nullopt, "the thermal report has no thermals list"};
  std::optional<double> fpga, hottest;
  for (const nlohmann::json& s : *it) {
    if (!s.is_object() || !Present(s) || !s.contains("temp_C")) continue;
    const std::optional<double> t = Number(s["temp_C"]);
    if (!t || *t <= 0 || *t >= kMaxCelsius) continue;
    if (s.value("location_id", "") == "fpga0") fpga = *t;
    if (!hottest || *t > *hottest) hottest = *t;
  }
  if (fpga) return {fpga, ""};
  if (hottest) return {hottest, ""};
  return {std::nullopt, "the card reports no temperature sensor"};
}

}  // namespace fpgaserve
