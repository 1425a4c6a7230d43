// Numbers from text (config values, flags, sysfs and /proc files, metrics pages, request fields): the whole
// text must be the number, in the C locale, whatever the process's locale says. No leading or trailing
// spaces, no '+', no hex; integers out of range and doubles that are not finite are refused. Each caller
// turns nullopt into its own error message, which knows what the number was for.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace fpgaserve {

// An optional '-' and decimal digits.
std::optional<int64_t> ParseInt64(std::string_view text);
// Decimal digits only.
std::optional<uint64_t> ParseUint64(std::string_view text);
// A decimal number, maybe with a fraction and an exponent ("1", "-0.5", "2e-3"); finite.
std::optional<double> ParseDouble(std::string_view text);

}  // namespace fpgaserve
