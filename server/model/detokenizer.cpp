#include "server/model/detokenizer.h"

#include <cstdint>

namespace fpgaserve {
namespace {

constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";  // U+FFFD

enum class Utf8Kind { kComplete, kIncomplete, kInvalid };

struct Utf8Scan {
  Utf8Kind kind;
  size_t length;  // kComplete: the character's bytes; kInvalid: the ill-formed bytes to replace; else unused
};

// Classifies the bytes at the start of `s` (non-empty). The allowed range of the second byte depends on the
// lead byte (Unicode table 3-7), which rules out overlong forms, surrogates and code points above U+10FFFF
// at the earliest byte that shows them, so invalid input is replaced without waiting for more bytes.
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

}  // namespace

std::string StreamDecoder::Push(int token) {
  const std::string bytes = tokenizer_->Decode(prev_token_, token);
  prev_token_ = token;
  return PushBytes(bytes);
}

std::string StreamDecoder::PushBytes(std::string_view bytes) {
  pending_.append(bytes);
  std::string out;
  size_t i = 0;
  while (i < pending_.size()) {
    const Utf8Scan scan = ScanUtf8(std::string_view(pending_).substr(i));
    if (scan.kind == Utf8Kind::kIncomplete) break;
    if (scan.kind == Utf8Kind::kComplete) {
      out.append(pending_, i, scan.length);
    } else {
      out.append(kReplacementChar);
    }
    i += scan.length;
  }
  pending_.erase(0, i);
  return out;
}

std::string StreamDecoder::Flush() {
  // What is held back is a valid prefix of one character, so it is a single maximal ill-formed subpart.
  std::string out = pending_.empty() ? std::string() : std::string(kReplacementChar);
  pending_.clear();
  return out;
}

}  // namespace fpgaserve
