// EnergyMetrics: the energy sampler's readings (fpga/energy_sampler.h) as Prometheus series, labelled by
// `model` and `device` (a card's name, or "host" for the host's RAPL counters):
//   fpgaserve_device_power_watts          gauge    power at the last sample; absent while unavailable
//   fpgaserve_device_temperature_celsius  gauge    temperature at the last sample; absent while unavailable
//   fpgaserve_energy_joules_total         counter  energy integrated since start; present from the first
//                                                  integrated interval on (absent: no sensor, "n/a")
// A series is removed, not set to a made-up value, while its sensor does not answer; the counter is never
// removed and never decreases (the sampler's totals never go backwards).
//
// Threading: Update from one thread at a time (the sampler's listener). Lifetime: the registry must
// outlive this object.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "fpga/energy_sampler.h"

namespace fpgaserve {

class EnergyMetrics {
 public:
  EnergyMetrics(prometheus::Registry& registry, const std::string& model);
  void Update(const std::vector<DeviceEnergy>& devices);

 private:
  struct Series {
    prometheus::Gauge* power = nullptr;
    prometheus::Gauge* temperature = nullptr;
    prometheus::Counter* energy = nullptr;
    double exported_joules = 0;
  };
  const std::string model_;
  prometheus::Family<prometheus::Gauge>& power_;
  prometheus::Family<prometheus::Gauge>& temperature_;
  prometheus::Family<prometheus::Counter>& energy_;
  std::map<std::string, Series> series_;
};

}  // namespace fpgaserve
