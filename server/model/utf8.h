// UTF-8 at the byte level, shared by the tokenizer (which splits text into characters) and the streaming
// detokenizer (which holds bytes until a character is complete).
#pragma once

#include <cstddef>
#include <string_view>

namespace fpgaserve {

inline constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";  // U+FFFD

enum class Utf8Kind { kComplete, kIncomplete, kInvalid };

struct Utf8Scan {
  Utf8Kind kind;
  size_t length;  // kComplete: the character's bytes; kInvalid: the ill-formed bytes to replace; else unused
};

// Classifies the bytes at the start of `s` (non-empty). The allowed range of the second byte depends on the
// lead byte (Unicode table 3-7), which rules out overlong forms, surrogates and code points above U+10FFFF
// at the earliest byte that shows them, so invalid input is known as such without waiting for more bytes.
Utf8Scan ScanUtf8(std::string_view s);

}  // namespace fpgaserve
