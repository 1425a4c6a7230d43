// Python str operations on UTF-8 text, as the Jinja interpreter needs them: Python strings are sequences of
// code points, so lengths, indexes and slices count code points, and strip()/split() know Unicode
// whitespace. Case mapping (upper, lower, title, capitalize) covers ASCII letters only; other characters are
// left as they are (chat templates case-map roles and keywords, not message text).
// Invalid UTF-8 bytes count as one code point each (they cannot come from a parsed JSON request).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fpgaserve::jinja {

// Byte offsets of each code point's start, plus text.size() at the end (so size() - 1 code points).
std::vector<size_t> CodePointOffsets(std::string_view text);
size_t CodePointCount(std::string_view text);

// Python's str.isspace() for the code point starting at text[pos]; *len gets its byte length.
bool IsPySpaceAt(std::string_view text, size_t pos, size_t* len);

// str.strip / lstrip / rstrip: `chars` empty means whitespace, else the set of code points in `chars`.
std::string PyStrip(std::string_view text, std::string_view chars, bool left, bool right, bool chars_given);
// str.split(sep, maxsplit): sep empty = runs of whitespace; maxsplit < 0 = no limit.
std::vector<std::string> PySplit(std::string_view text, std::string_view sep, bool sep_given, int64_t maxsplit);
std::string PyReplace(std::string_view text, std::string_view old_text, std::string_view new_text, int64_t count);
std::string AsciiUpper(std::string_view text);
std::string AsciiLower(std::string_view text);
// str.title(): each run of letters starts upper-case, the rest lower-case.
std::string AsciiTitle(std::string_view text);
// jinja2's title filter (not str.title()): words start after '-', whitespace, '(', '{', '[' or '<'; each
// word's first character upper-case, the rest lower-case ("they're" -> "They're").
std::string JinjaTitle(std::string_view text);
// str.capitalize(): the first character upper-case, the rest lower-case.
std::string AsciiCapitalize(std::string_view text);
// Appends the UTF-8 encoding of `cp` (a code point below 0x110000).
void AppendUtf8(std::string& out, uint32_t cp);

}  // namespace fpgaserve::jinja
