#include "base/parse_number.h"

#include <charconv>
#include <cmath>
#include <system_error>

namespace fpgaserve {
namespace {

// std::from_chars is locale-independent and stops at the first character that is not part of the number;
// the whole text must be used.
template <typename T, typename... Format>
std::optional<T> Whole(std::string_view text, Format... format) {
  if (text.empty()) return std::nullopt;
  T value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, format...);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

std::optional<int64_t> ParseInt64(std::string_view text) { return Whole<int64_t>(text); }

std::optional<uint64_t> ParseUint64(std::string_view text) { return Whole<uint64_t>(text); }

std::optional<double> ParseDouble(std::string_view text) {
  // from_chars also reads "inf" and "nan" spelled out: refused below, with every other non-finite result.
  std::optional<double> v = Whole<double>(text, std::chars_format::general);
  if (!v || !std::isfinite(*v)) return std::nullopt;
  return v;
}

}  // namespace fpgaserve
