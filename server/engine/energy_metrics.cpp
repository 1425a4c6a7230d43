#include "server/engine/energy_metrics.h"

namespace fpgaserve {

EnergyMetrics::EnergyMetrics(prometheus::Registry& registry, const std::string& model)
    : model_(model),
      power_(prometheus::BuildGauge()
                 .Name("fpgaserve_device_power_watts")
                 .Help("Power drawn by a card (its board sensor) or the host (RAPL), at the last sample")
                 .Register(registry)),
      temperature_(prometheus::BuildGauge()
                       .Name("fpgaserve_device_temperature_celsius")
                       .Help("A card's FPGA temperature at the last sample")
                       .Register(registry)),
      energy_(prometheus::BuildCounter()
                  .Name("fpgaserve_energy_joules_total")
                  .Help("Energy used by a card or the host since the server started, integrated from its sensor")
                  .Register(registry)) {}

void EnergyMetrics::Update(const std::vector<DeviceEnergy>& devices) {
  for (const DeviceEnergy& d : devices) {
    Series& s = series_[d.device];
    const std::map<std::string, std::string> labels = {{"model", model_}, {"device", d.device}};
    // A gauge exists only while its sensor answers.
    auto set = [&](prometheus::Family<prometheus::Gauge>& family, prometheus::Gauge*& gauge,
                   const std::optional<double>& value) {
      if (value) {
        if (gauge == nullptr) gauge = &family.Add(labels);
        gauge->Set(*value);
      } else if (gauge != nullptr) {
        family.Remove(gauge);
        gauge = nullptr;
      }
    };
    set(power_, s.power, d.watts);
    set(temperature_, s.temperature, d.celsius);
    if (d.has_energy) {
      if (s.energy == nullptr) s.energy = &energy_.Add(labels);
      if (d.joules > s.exported_joules) {
        s.energy->Increment(d.joules - s.exported_joules);
        s.exported_joules = d.joules;
      }
    }
  }
}

}  // namespace fpgaserve
