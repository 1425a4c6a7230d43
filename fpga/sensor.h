// DeviceSensor: what a device can say about its power and temperature, behind one small interface so the
// energy sampler (fpga/energy_sampler.h) and its tests do not care where a reading comes from.
//
// Implementations: the XRT card's (XRT's electrical and thermal reports, fpga/sensor_report.h), the
// host's RAPL energy counters (fpga/powercap_sensor.h), and the tests' fakes. A reading holds only what the
// sensor measured: a field it cannot give is nullopt ("unavailable"), never a guess or a default.
//
// Threading: Read() is called from one thread at a time (the sampler's); it must not block for long (a
// sysfs read, an XRT query) and never throws.
#pragma once

#include <optional>
#include <string>

namespace fpgaserve {

struct SensorReading {
  std::optional<double> watts;    // power drawn now
  std::optional<double> celsius;  // the hottest of the sensor's temperatures that matter (the FPGA die)
  // A cumulative energy counter in joules, when the sensor keeps one (RAPL): monotonic, wrap-arounds
  // already folded in by the sensor. When present the sampler integrates it instead of `watts`.
  std::optional<double> energy_joules;
  std::string note;  // why a field is missing ("no electrical report: ..."), "" when all is well

  bool any() const { return watts || celsius || energy_joules; }
};

class DeviceSensor {
 public:
  virtual ~DeviceSensor() = default;
  // Reads the sensor now. Never throws; what cannot be read is nullopt, with `note` saying why.
  virtual SensorReading Read() = 0;
};

// "12.3 W" or "unavailable": how logs and reports print an optional reading.
std::string FormatReading(const std::optional<double>& value, const char* unit);

}  // namespace fpgaserve
