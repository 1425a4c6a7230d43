// PowercapSensor: the host's energy from Linux powercap (RAPL): /sys/class/powercap/intel-rapl:<n>/
// energy_uj, a counter in microjoules that wraps to 0 past max_energy_range_uj. AMD's RAPL appears under
// the same intel-rapl name.
//
// Zones: the top-level ones (intel-rapl:<n>, not their sub-zones intel-rapl:<n>:<m>, which are parts of
// the package and would be counted twice). When a "psys" zone exists (the whole platform) it is used alone,
// since it contains the packages; otherwise the packages are summed.
//
// Read() returns energy_joules: what the zones counted since the first Read() (the first returns 0),
// with every wrap-around folded in, so it never goes backwards. A zone that cannot be read (energy_uj is
// readable by root only since Linux 5.10) makes the reading unavailable, with the reason in `note`; the
// counter continues from where it was once the zone reads again, adding nothing for the gap it could
// not see across a wrap.
//
// Threading: as DeviceSensor (one reader at a time).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "fpga/sensor.h"

namespace fpgaserve {

class PowercapSensor final : public DeviceSensor {
 public:
  // Finds the zones under `root` (the sysfs folder, or a copy in a test). NotFound when `root` has no
  // intel-rapl zone (no RAPL, a VM, a container without /sys/class/powercap).
  static Result<std::unique_ptr<PowercapSensor>> Open(const std::string& root = "/sys/class/powercap");

  SensorReading Read() override;

  // The zone folders used, for logs.
  const std::vector<std::string>& zones() const { return zones_; }

 private:
  struct Zone {
    std::string dir;
    uint64_t max_range_uj = 0;  // 0 when unreadable: a drop is then taken as a reset, not a wrap
    bool seen = false;
    uint64_t last_uj = 0;
  };
  explicit PowercapSensor(std::vector<Zone> zones);

  std::vector<Zone> zone_state_;
  std::vector<std::string> zones_;
  uint64_t total_uj_ = 0;
};

}  // namespace fpgaserve
