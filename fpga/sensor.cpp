#include "fpga/sensor.h"

#include <cstdio>

namespace fpgaserve {

std::string FormatReading(const std::optional<double>& value, const char* unit) {
  if (!value) return "unavailable";
  char s[48];
  std::snprintf(s, sizeof s, "%.1f %s", *value, unit);
  return s;
}

}  // namespace fpgaserve
