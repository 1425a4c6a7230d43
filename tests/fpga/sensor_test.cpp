// The sensors behind DeviceSensor: XRT's electrical and thermal report texts (recorded as XRT 2.13 writes
// them, and malformed ones), and the host's powercap (RAPL) counters in a fake sysfs tree with a
// wrap-around, an unreadable counter and a psys zone.
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "fpga/powercap_sensor.h"
#include "fpga/sensor_report.h"
#include "support/test_support.h"

namespace fpgaserve {
namespace {

// What xrt::device::get_info<electrical>() returned for a U250 (legacy sensors; values shortened to two
// rails): Boost's JSON writer, every value a string.
constexpr const char* kU250Electrical = R"({
    "power_rails": [
        {"id": "12v_aux", "description": "12 Volts Auxillary", "voltage": {"volts": "12.108", "is_present": "true"},
         "current": {"amps": "1.021", "is_present": "true"}},
        {"id": "vccint", "description": "Internal FPGA Vcc", "voltage": {"volts": "0.851", "is_present": "true"},
         "current": {"amps": "9.400", "is_present": "true"}}
    ],
    "power_consumption_max_watts": "225",
    "power_consumption_watts": "23.456789",
    "power_consumption_warning": "false"
})";

constexpr const char* kU250Thermal = R"({
    "thermals": [
        {"location_id": "pcb_top_front", "description": "PCB Top Front", "temp_C": "38", "is_present": "true"},
        {"location_id": "cage_temp_0", "description": "Cage0", "temp_C": "0", "is_present": "false"},
        {"location_id": "fpga0", "description": "FPGA", "temp_C": "54", "is_present": "true"},
        {"location_id": "fpga_hbm", "description": "FPGA HBM", "temp_C": "0", "is_present": "false"}
    ]
})";

TEST(XrtSensorReport, ReadsTheBoardPowerOfARecordedReport) {
  const XrtReportValue w = ParseXrtElectrical(kU250Electrical);
  ASSERT_TRUE(w.value.has_value()) << w.note;
  EXPECT_DOUBLE_EQ(*w.value, 23.456789);
  // A later XRT writing numbers as numbers reads the same.
  EXPECT_DOUBLE_EQ(*ParseXrtElectrical(R"({"power_consumption_watts": 31.5})").value, 31.5);
}

TEST(XrtSensorReport, PowerIsUnavailableRatherThanMadeUp) {
  for (const char* text : {
           R"({"power_consumption_watts": "N/A", "power_consumption_max_watts": "N/A"})",  // firmware silent
           R"({"power_consumption_watts": "NA"})",
           R"({"power_consumption_watts": "0.000000"})",  // no sensor
           R"({"power_consumption_watts": "-3"})",
           R"({"power_consumption_watts": "12.5 W"})",  // not a whole number
           R"({"power_consumption_watts": "50000"})",   // implausible
           R"({"power_rails": []})",                    // no field
           R"({"power_consumption_watts": ""})",
           R"(["power_consumption_watts", 20])",    // not an object
           R"({"power_consumption_watts": "23.4)",  // truncated
           "",
       }) {
    const XrtReportValue w = ParseXrtElectrical(text);
    EXPECT_FALSE(w.value.has_value()) << text << " gave " << *w.value;
    EXPECT_FALSE(w.note.empty()) << text;
  }
}

TEST(XrtSensorReport, ReadsTheFpgaDieTemperature) {
  const XrtReportValue t = ParseXrtThermal(kU250Thermal);
  ASSERT_TRUE(t.value.has_value()) << t.note;
  EXPECT_DOUBLE_EQ(*t.value, 54) << "fpga0, not the hottest of the board's sensors";
  // Without an fpga0 reading: the hottest present sensor.
  const XrtReportValue board = ParseXrtThermal(R"({"thermals": [
      {"location_id": "fpga0", "temp_C": "0", "is_present": "false"},
      {"location_id": "pcb_top_front", "temp_C": "41", "is_present": "true"},
      {"location_id": "int_vcc", "temp_C": "47", "is_present": "true"}]})");
  ASSERT_TRUE(board.value.has_value());
  EXPECT_DOUBLE_EQ(*board.value, 47);
}

TEST(XrtSensorReport, TemperatureIsUnavailableRatherThanMadeUp) {
  for (const char* text : {
           R"({"thermals": [{"location_id": "fpga0", "temp_C": "0", "is_present": "false"}]})",
           R"({"thermals": [{"location_id": "fpga0", "temp_C": "N/A", "is_present": "true"}]})",
           R"({"thermals": [{"location_id": "fpga0", "temp_C": "4000", "is_present": "true"}]})",
           R"({"thermals": []})",
           R"({"thermals": "fpga0"})",
           R"({"temp_C": "50"})",
           R"({"thermals": [{"location_id": "fpga0", "temp_C": "5)",
           "null",
       }) {
    const XrtReportValue t = ParseXrtThermal(text);
    EXPECT_FALSE(t.value.has_value()) << text << " gave " << *t.value;
    EXPECT_FALSE(t.note.empty()) << text;
  }
}

// A fake /sys/class/powercap.
class FakePowercap {
 public:
  void Zone(const std::string& zone, const std::string& name, uint64_t max_range_uj) {
    std::filesystem::create_directories(dir_.file(zone));
    Put(zone + "/name", name);
    Put(zone + "/max_energy_range_uj", std::to_string(max_range_uj));
  }
  void Energy(const std::string& zone, uint64_t uj) { Put(zone + "/energy_uj", std::to_string(uj)); }
  void Put(const std::string& file, const std::string& text) {
    ASSERT_TRUE(testing::WriteFile(dir_.file(file), text + "\n"));
  }
  const std::string& root() const { return dir_.path(); }

 private:
  testing::TempDir dir_;
};

TEST(PowercapSensor, SumsThePackagesAndFoldsInAWrapAround) {
  FakePowercap fs;
  const uint64_t range = 262143328850;  // a real package's max_energy_range_uj
  fs.Zone("intel-rapl:0", "package-0", range);
  fs.Zone("intel-rapl:0:0", "core", range);  // a sub-zone: part of package-0, not added again
  fs.Zone("intel-rapl:1", "package-1", range);
  fs.Zone("intel-rapl-mmio:0", "package-0", range);  // another view of package 0: not added
  fs.Energy("intel-rapl:0", range - 2000000);        // 2 J before the wrap
  fs.Energy("intel-rapl:0:0", 5);
  fs.Energy("intel-rapl:1", 1000000);
  fs.Energy("intel-rapl-mmio:0", 7);
  Result<std::unique_ptr<PowercapSensor>> s = PowercapSensor::Open(fs.root());
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s.value()->zones().size(), 2u);

  SensorReading r = s.value()->Read();
  ASSERT_TRUE(r.energy_joules.has_value()) << r.note;
  EXPECT_DOUBLE_EQ(*r.energy_joules, 0) << "counted from the first reading";
  EXPECT_FALSE(r.watts.has_value()) << "powercap gives energy; the sampler derives power";

  fs.Energy("intel-rapl:0", 3000000);  // wrapped: 2 J to the end of the range, then 3 J
  fs.Energy("intel-rapl:0:0", 999999999);
  fs.Energy("intel-rapl:1", 6000000);  // 5 J
  r = s.value()->Read();
  ASSERT_TRUE(r.energy_joules.has_value()) << r.note;
  EXPECT_NEAR(*r.energy_joules, 2 + 3 + 5, 1e-9);

  fs.Energy("intel-rapl:0", 4000000);  // 1 J
  r = s.value()->Read();
  EXPECT_NEAR(*r.energy_joules, 11, 1e-9);
}

TEST(PowercapSensor, AnUnreadableCounterIsUnavailableAndTheTotalNeverGoesBack) {
  FakePowercap fs;
  fs.Zone("intel-rapl:0", "package-0", 1000000000);
  fs.Energy("intel-rapl:0", 100000000);
  Result<std::unique_ptr<PowercapSensor>> s = PowercapSensor::Open(fs.root());
  ASSERT_TRUE(s.ok());
  EXPECT_DOUBLE_EQ(*s.value()->Read().energy_joules, 0);
  fs.Energy("intel-rapl:0", 110000000);
  EXPECT_NEAR(*s.value()->Read().energy_joules, 10, 1e-9);

  fs.Put("intel-rapl:0/energy_uj", "garbage");  // as unreadable as a root-only file
  SensorReading r = s.value()->Read();
  EXPECT_FALSE(r.energy_joules.has_value());
  EXPECT_NE(r.note.find("energy_uj"), std::string::npos) << r.note;

  fs.Energy("intel-rapl:0", 115000000);
  r = s.value()->Read();
  ASSERT_TRUE(r.energy_joules.has_value()) << r.note;
  EXPECT_NEAR(*r.energy_joules, 15, 1e-9) << "continues from where it was";
}

TEST(PowercapSensor, APsysZoneIsUsedAloneSinceItHoldsThePackages) {
  FakePowercap fs;
  fs.Zone("intel-rapl:0", "package-0", 1000000000);
  fs.Zone("intel-rapl:1", "psys", 1000000000);
  fs.Energy("intel-rapl:0", 0);
  fs.Energy("intel-rapl:1", 0);
  Result<std::unique_ptr<PowercapSensor>> s = PowercapSensor::Open(fs.root());
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s.value()->zones().size(), 1u);
  EXPECT_NE(s.value()->zones()[0].find("intel-rapl:1"), std::string::npos);
  s.value()->Read();
  fs.Energy("intel-rapl:0", 4000000);
  fs.Energy("intel-rapl:1", 9000000);
  EXPECT_NEAR(*s.value()->Read().energy_joules, 9, 1e-9);
}

TEST(PowercapSensor, NoZonesIsNotFound) {
  testing::TempDir empty;
  EXPECT_EQ(PowercapSensor::Open(empty.path()).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(PowercapSensor::Open(empty.file("absent")).status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace fpgaserve
