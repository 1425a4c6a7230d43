// SensorReport: reading XRT's electrical and thermal reports: the JSON texts xrt::device::get_info<
// xrt::info::device::electrical>() and <...::thermal>() return (XRT 2.13, Debian's libxrt: a Boost
// property tree written as JSON, so every value is a string).
//
//   electrical: {"power_rails": [...], "power_consumption_max_watts": "225",
//                "power_consumption_watts": "23.456789", "power_consumption_warning": "false"}
//               power_consumption_watts is "N/A" when the card's management firmware does not answer.
//   thermal:    {"thermals": [{"location_id": "fpga0", "description": "FPGA", "temp_C": "45",
//                "is_present": "true"}, ...]}; a sensor the card lacks reads "0" with is_present "false".
//
// Separate from the XRT card (and built without XRT: fpga/CMakeLists.txt leaves xrt_* files out) so
// recorded texts (and malformed ones) can be tested without a card.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace fpgaserve {

struct XrtReportValue {
  std::optional<double> value;
  std::string note;  // why there is no value: "malformed", "N/A", "no sensor"...; "" with a value
};

// The board's power in watts from an electrical report. No value for text that is not a JSON object,
// a missing or non-numeric power_consumption_watts ("N/A"), or one that is not a plausible board power
// (zero: no sensor; negative, non-finite or above 1 kW: a misread).
XrtReportValue ParseXrtElectrical(std::string_view json);

// The FPGA die's temperature in degrees C from a thermal report: the present "fpga0" sensor, or else the
// hottest present sensor. No value for malformed text or when no sensor is present with a plausible
// reading (0 < t < 150).
XrtReportValue ParseXrtThermal(std::string_view json);

}  // namespace fpgaserve
