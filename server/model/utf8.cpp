#include "server/model/utf8.h"

#include <cstdint>

namespace fpgaserve {

Utf8Scan ScanUtf8(std::string_view s) {
  const auto b0 = static_cast<uint8_t>(s[0]);
  size_t length = 0;
  uint8_t lo = 0x80;
  uint8_t hi = 0xBF;
  if (b0 < 0x80) return {Utf8Kind::kComplete, 1};
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    length = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    length = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    length = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return {Utf8Kind::kInvalid, 1};  // a continuation byte, or a byte that never appears in UTF-8
  }
  for (size_t k = 1; k < length; ++k) {
    if (k >= s.size()) return {Utf8Kind::kIncomplete, 0};
    const auto b = static_cast<uint8_t>(s[k]);
    if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF)) return {Utf8Kind::kInvalid, k};
  }
  return {Utf8Kind::kComplete, length};
}

}  // namespace fpgaserve
