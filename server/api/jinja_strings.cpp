#include "server/api/jinja_strings.h"

#include <cctype>

namespace fpgaserve::jinja {
namespace {

// Decodes the code point at text[pos]; invalid or truncated sequences are one byte.
uint32_t DecodeAt(std::string_view text, size_t pos, size_t* len) {
  const auto b0 = static_cast<unsigned char>(text[pos]);
  size_t n = b0 < 0x80 ? 1 : (b0 >> 5) == 0x6 ? 2 : (b0 >> 4) == 0xE ? 3 : (b0 >> 3) == 0x1E ? 4 : 0;
  if (n == 0 || pos + n > text.size()) {
    *len = 1;
    return b0;
  }
  uint32_t cp = n == 1 ? b0 : n == 2 ? (b0 & 0x1F) : n == 3 ? (b0 & 0x0F) : (b0 & 0x07);
  for (size_t i = 1; i < n; ++i) {
    const auto b = static_cast<unsigned char>(text[pos + i]);
    if ((b & 0xC0) != 0x80) {
      *len = 1;
      return b0;
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  *len = n;
  return cp;
}

bool IsPySpace(uint32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

// Whether the code point at text[pos] (of `len` bytes) is one of the code points of `chars`.
bool InChars(std::string_view text, size_t pos, size_t len, std::string_view chars) {
  const std::string_view c = text.substr(pos, len);
  for (size_t i = 0; i < chars.size();) {
    size_t l = 0;
    DecodeAt(chars, i, &l);
    if (chars.substr(i, l) == c) return true;
    i += l;
  }
  return false;
}

}  // namespace

std::vector<size_t> CodePointOffsets(std::string_view text) {
  std::vector<size_t> out;
  for (size_t i = 0; i < text.size();) {
    out.push_back(i);
    size_t len = 0;
    DecodeAt(text, i, &len);
    i += len;
  }
  out.push_back(text.size());
  return out;
}

size_t CodePointCount(std::string_view text) { return CodePointOffsets(text).size() - 1; }

bool IsPySpaceAt(std::string_view text, size_t pos, size_t* len) { return IsPySpace(DecodeAt(text, pos, len)); }

std::string PyStrip(std::string_view text, std::string_view chars, bool left, bool right, bool chars_given) {
  const std::vector<size_t> offs = CodePointOffsets(text);
  size_t b = 0, e = offs.size() - 1;  // code point indexes
  auto strip_at = [&](size_t i) {
    size_t len = offs[i + 1] - offs[i];
    if (chars_given) return InChars(text, offs[i], len, chars);
    return IsPySpaceAt(text, offs[i], &len);
  };
  while (left && b < e && strip_at(b)) b++;
  while (right && e > b && strip_at(e - 1)) e--;
  return std::string(text.substr(offs[b], offs[e] - offs[b]));
}

std::vector<std::string> PySplit(std::string_view text, std::string_view sep, bool sep_given, int64_t maxsplit) {
  std::vector<std::string> out;
  if (sep_given) {
    size_t start = 0;
    while (maxsplit < 0 || static_cast<int64_t>(out.size()) < maxsplit) {
      const size_t hit = text.find(sep, start);
      if (hit == std::string_view::npos) break;
      out.emplace_back(text.substr(start, hit - start));
      start = hit + sep.size();
    }
    out.emplace_back(text.substr(start));
    return out;
  }
  size_t i = 0, len = 0;
  while (true) {
    while (i < text.size() && IsPySpaceAt(text, i, &len)) i += len;
    if (i >= text.size()) break;
    if (maxsplit >= 0 && static_cast<int64_t>(out.size()) == maxsplit) {
      // The rest, right-stripped of whitespace, is the last item (as Python does).
      out.push_back(PyStrip(text.substr(i), "", false, true, false));
      break;
    }
    const size_t start = i;
    while (i < text.size() && !IsPySpaceAt(text, i, &len)) i += len;
    out.emplace_back(text.substr(start, i - start));
  }
  return out;
}

std::string PyReplace(std::string_view text, std::string_view old_text, std::string_view new_text, int64_t count) {
  std::string out;
  if (old_text.empty()) {
    // Python inserts `new` before every code point and at the end.
    const std::vector<size_t> offs = CodePointOffsets(text);
    int64_t done = 0;
    for (size_t i = 0; i + 1 < offs.size(); ++i) {
      if (count < 0 || done < count) {
        out.append(new_text);
        done++;
      }
      out.append(text.substr(offs[i], offs[i + 1] - offs[i]));
    }
    if (count < 0 || done < count) out.append(new_text);
    return out;
  }
  size_t start = 0;
  int64_t done = 0;
  while (count < 0 || done < count) {
    const size_t hit = text.find(old_text, start);
    if (hit == std::string_view::npos) break;
    out.append(text.substr(start, hit - start)).append(new_text);
    start = hit + old_text.size();
    done++;
  }
  out.append(text.substr(start));
  return out;
}

std::string AsciiUpper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string AsciiLower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string AsciiTitle(std::string_view text) {
  std::string out(text);
  bool prev_letter = false;
  for (char& c : out) {
    const auto u = static_cast<unsigned char>(c);
    const bool letter = std::isalpha(u) != 0;
    c = static_cast<char>(letter ? (prev_letter ? std::tolower(u) : std::toupper(u)) : u);
    prev_letter = letter;
  }
  return out;
}

std::string JinjaTitle(std::string_view text) {
  std::string out(text);
  bool word_start = true;
  for (char& c : out) {
    const auto u = static_cast<unsigned char>(c);
    const bool separator = c == '-' || c == '(' || c == '{' || c == '[' || c == '<' || std::isspace(u);
    c = static_cast<char>(word_start ? std::toupper(u) : std::tolower(u));
    word_start = separator;
  }
  return out;
}

std::string AsciiCapitalize(std::string_view text) {
  std::string out = AsciiLower(text);
  if (!out.empty()) out[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[0])));
  return out;
}

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

}  // namespace fpgaserve::jinja
