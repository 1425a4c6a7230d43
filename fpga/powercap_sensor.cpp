#include "fpga/powercap_sensor.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>

#include "base/parse_number.h"

namespace fpgaserve {
namespace {

// A top-level zone folder: "intel-rapl:" followed by digits only.
bool TopLevelZone(const std::string& name) {
  const std::string prefix = "intel-rapl:";
  if (name.rfind(prefix, 0) != 0 || name.size() == prefix.size()) return false;
  return std::all_of(name.begin() + prefix.size(), name.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The file's first line; nullopt with `error` set when it cannot be read.
std::optional<std::string> ReadLine(const std::string& path, std::string* error) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) {
    const int err = errno;
    *error = "cannot read " + path + (err != 0 ? std::string(": ") + std::strerror(err) : std::string());
    return std::nullopt;
  }
  return line;
}

std::optional<uint64_t> ReadCounter(const std::string& path, std::string* error) {
  std::optional<std::string> s = ReadLine(path, error);
  if (!s) return std::nullopt;
  std::optional<uint64_t> counter = ParseUint64(*s);
  if (!counter) *error = path + " holds \"" + *s + "\", not a counter";
  return counter;
}

}  // namespace

Result<std::unique_ptr<PowercapSensor>> PowercapSensor::Open(const std::string& root) {
  std::error_code ec;
  std::vector<std::string> packages, psys;
  for (const auto& entry : std::filesystem::directory_iterator(root, ec)) {
    const std::string name = entry.path().filename().string();
    if (!TopLevelZone(name)) continue;
    std::string error;
    const std::optional<std::string> zone_name = ReadLine(entry.path().string() + "/name", &error);
    (zone_name && *zone_name == "psys" ? psys : packages).push_back(entry.path().string());
  }
  if (ec) return Status::NotFound("no powercap folder " + root + " (" + ec.message() + "): host energy unavailable");
  std::vector<std::string> dirs = psys.empty() ? packages : psys;
  if (dirs.empty()) return Status::NotFound("no RAPL zone (intel-rapl:N) under " + root + ": host energy unavailable");
  std::sort(dirs.begin(), dirs.end());
  std::vector<Zone> zones;
  for (const std::string& d : dirs) {
    Zone z;
    z.dir = d;
    std::string error;
    z.max_range_uj = ReadCounter(d + "/max_energy_range_uj", &error).value_or(0);
    zones.push_back(z);
  }
  return std::unique_ptr<PowercapSensor>(new PowercapSensor(std::move(zones)));
}

PowercapSensor::PowercapSensor(std::vector<Zone> zones) : zone_state_(std::move(zones)) {
  for (const Zone& z : zone_state_) zones_.push_back(z.dir);
}

SensorReading PowercapSensor::Read() {
  SensorReading r;
  bool all = true;
  for (Zone& z : zone_state_) {
    std::string error;
    const std::optional<uint64_t> now = ReadCounter(z.dir + "/energy_uj", &error);
    if (!now) {
      all = false;
      if (r.note.empty()) r.note = error;
      continue;
    }
    if (z.seen) {
      if (*now >= z.last_uj) {
        total_uj_ += *now - z.last_uj;
      } else if (z.max_range_uj > z.last_uj) {
        // Wrapped past max_energy_range_uj back to 0: the rest of the range, then what it counted since.
        total_uj_ += (z.max_range_uj - z.last_uj) + *now;
      }
      // Else a reset (or an unknown range): add nothing rather than guess.
    }
    z.seen = true;
    z.last_uj = *now;
  }
  if (all) {
    r.energy_joules = static_cast<double>(total_uj_) * 1e-6;
  } else if (r.note.find("Permission denied") != std::string::npos) {
    r.note += " (RAPL energy is readable by root only since Linux 5.10)";
  }
  return r;
}

}  // namespace fpgaserve
