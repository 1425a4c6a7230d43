#include "server/api/jinja_lexer.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>

#include "server/api/jinja_strings.h"

namespace fpgaserve::jinja {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

class Lexer {
 public:
  explicit Lexer(std::string_view raw) {
    // Newlines normalised as jinja2 does before lexing.
    src_.reserve(raw.size());
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '\r') {
        src_ += '\n';
        if (i + 1 < raw.size() && raw[i + 1] == '\n') ++i;
      } else {
        src_ += raw[i];
      }
    }
    if (!src_.empty() && src_.back() == '\n') src_.pop_back();
    line_starts_.push_back(0);
    for (size_t i = 0; i < src_.size(); ++i) {
      if (src_[i] == '\n') line_starts_.push_back(i + 1);
    }
  }

  std::vector<Token> Run() {
    size_t pos = 0;
    bool line_starting = true;  // the last consumed text ended a line (or nothing was consumed yet)
    while (pos < src_.size()) {
      const size_t open = NextOpener(pos);
      std::string text = src_.substr(pos, open - pos);
      if (open == src_.size()) {
        EmitData(std::move(text), pos);
        break;
      }
      const char kind = src_[open + 1];  // '{', '%' or '#'
      size_t p = open + 2;
      const char sign = p < src_.size() && (src_[p] == '-' || src_[p] == '+') ? src_[p] : '\0';
      if (sign != '\0') ++p;
      if (sign == '-') {
        while (!text.empty() && IsSpace(text.back())) text.pop_back();
      } else if (sign != '+' && kind != '{') {
        // lstrip_blocks: only whitespace between the line start and the tag.
        const size_t nl = text.rfind('\n');
        const size_t l_pos = nl == std::string::npos ? 0 : nl + 1;
        if ((l_pos > 0 || line_starting) && l_pos < text.size() &&
            std::all_of(text.begin() + static_cast<std::ptrdiff_t>(l_pos), text.end(), IsSpace)) {
          text.resize(l_pos);
        }
      }
      EmitData(std::move(text), pos);
      if (kind == '#') {
        const size_t close = src_.find("#}", p);
        if (close == std::string::npos) throw JinjaError("unterminated comment", Pos(open));
        const bool strip_after = close > p && src_[close - 1] == '-';
        pos = AfterTag(close + 2, strip_after, /*trim=*/true, &line_starting);
        continue;
      }
      tokens_.push_back({kind == '{' ? TokenType::kVarBegin : TokenType::kBlockBegin, "", 0, 0, Pos(open)});
      pos = LexTag(p, kind, open, &line_starting);
    }
    tokens_.push_back({TokenType::kEof, "", 0, 0, Pos(src_.size())});
    return std::move(tokens_);
  }

 private:
  SourcePos Pos(size_t offset) const {
    const auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
    const size_t line = static_cast<size_t>(it - line_starts_.begin());
    return {static_cast<int>(line), static_cast<int>(offset - line_starts_[line - 1] + 1)};
  }

  size_t NextOpener(size_t pos) const {
    for (size_t i = src_.find('{', pos); i != std::string::npos; i = src_.find('{', i + 1)) {
      if (i + 1 < src_.size() && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#')) return i;
    }
    return src_.size();
  }

  void EmitData(std::string text, size_t pos) {
    if (!text.empty()) tokens_.push_back({TokenType::kData, std::move(text), 0, 0, Pos(pos)});
  }

  // Position after a tag ending at `end`: all whitespace skipped when `strip`, else one newline when
  // `trim` (trim_blocks). Records whether what was consumed ended a line.
  size_t AfterTag(size_t end, bool strip, bool trim, bool* line_starting) const {
    size_t p = end;
    if (strip) {
      while (p < src_.size() && IsSpace(src_[p])) ++p;
    } else if (trim && p < src_.size() && src_[p] == '\n') {
      ++p;
    }
    *line_starting = p > end && src_[p - 1] == '\n';
    return p;
  }

  // Lexes a {{ }} or {% %} body from `p`; returns the position after its closer.
  size_t LexTag(size_t p, char kind, size_t open, bool* line_starting) {
    const char close_char = kind == '{' ? '}' : '%';
    std::vector<char> brackets;
    while (true) {
      while (p < src_.size() && IsSpace(src_[p])) ++p;
      if (p >= src_.size()) {
        throw JinjaError(std::string("unterminated '{") + kind + "' tag (missing '" + close_char + "}')", Pos(open));
      }
      if (brackets.empty()) {
        // The closer, possibly with a whitespace sign: "-%}", "+%}", "%}" (and "-}}", "}}").
        const char sign = src_[p] == '-' || src_[p] == '+' ? src_[p] : '\0';
        const size_t q = sign != '\0' ? p + 1 : p;
        if (q + 1 < src_.size() && src_[q] == close_char && src_[q + 1] == '}' && !(sign == '+' && kind == '{')) {
          tokens_.push_back({kind == '{' ? TokenType::kVarEnd : TokenType::kBlockEnd, "", 0, 0, Pos(p)});
          return AfterTag(q + 2, sign == '-', kind == '%' && sign != '+', line_starting);
        }
      }
      const char c = src_[p];
      if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        const size_t b = p;
        while (p < src_.size() && (std::isalnum(static_cast<unsigned char>(src_[p])) || src_[p] == '_')) ++p;
        tokens_.push_back({TokenType::kName, src_.substr(b, p - b), 0, 0, Pos(b)});
      } else if (std::isdigit(static_cast<unsigned char>(c))) {
        p = LexNumber(p);
      } else if (c == '\'' || c == '"') {
        p = LexString(p);
      } else {
        p = LexOperator(p, brackets);
      }
    }
  }

  size_t LexNumber(size_t p) {
    const size_t b = p;
    auto digits = [&] {
      while (p < src_.size() && (std::isdigit(static_cast<unsigned char>(src_[p])) || src_[p] == '_')) ++p;
    };
    digits();
    bool is_float = false;
    if (p + 1 < src_.size() && src_[p] == '.' && std::isdigit(static_cast<unsigned char>(src_[p + 1]))) {
      is_float = true;
      ++p;
      digits();
    }
    if (p < src_.size() && (src_[p] == 'e' || src_[p] == 'E')) {
      size_t q = p + 1;
      if (q < src_.size() && (src_[q] == '+' || src_[q] == '-')) ++q;
      if (q < src_.size() && std::isdigit(static_cast<unsigned char>(src_[q]))) {
        is_float = true;
        p = q;
        digits();
      }
    }
    std::string text;
    for (size_t i = b; i < p; ++i) {
      if (src_[i] != '_') text += src_[i];
    }
    Token t{is_float ? TokenType::kFloat : TokenType::kInt, text, 0, 0, Pos(b)};
    if (is_float) {
      t.float_value = std::strtod(text.c_str(), nullptr);
    } else {
      const auto r = std::from_chars(text.data(), text.data() + text.size(), t.int_value);
      if (r.ec != std::errc()) throw JinjaError("integer literal " + text + " does not fit in 64 bits", Pos(b));
    }
    tokens_.push_back(std::move(t));
    return p;
  }

  static int HexValue(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  size_t LexString(size_t p) {
    const size_t b = p;
    const char quote = src_[p++];
    std::string value;
    while (true) {
      if (p >= src_.size()) throw JinjaError("unterminated string literal", Pos(b));
      const char c = src_[p];
      if (c == quote) break;
      if (c != '\\' || p + 1 >= src_.size()) {
        value += c;
        ++p;
        continue;
      }
      const char e = src_[p + 1];
      p += 2;
      switch (e) {
        case '\n': break;  // a backslash-newline continues the line
        case '\\': value += '\\'; break;
        case '\'': value += '\''; break;
        case '"': value += '"'; break;
        case 'n': value += '\n'; break;
        case 't': value += '\t'; break;
        case 'r': value += '\r'; break;
        case 'b': value += '\b'; break;
        case 'f': value += '\f'; break;
        case 'v': value += '\v'; break;
        case 'a': value += '\a'; break;
        case 'x':
        case 'u':
        case 'U': {
          const int n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          uint32_t cp = 0;
          for (int i = 0; i < n; ++i) {
            const int h = p < src_.size() ? HexValue(src_[p]) : -1;
            if (h < 0) throw JinjaError(std::string("truncated \\") + e + " escape in string literal", Pos(b));
            cp = cp * 16 + static_cast<uint32_t>(h);
            ++p;
          }
          if (cp >= 0x110000) throw JinjaError("escape beyond U+10FFFF in string literal", Pos(b));
          AppendUtf8(value, cp);
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            uint32_t cp = static_cast<uint32_t>(e - '0');
            for (int i = 0; i < 2 && p < src_.size() && src_[p] >= '0' && src_[p] <= '7'; ++i) {
              cp = cp * 8 + static_cast<uint32_t>(src_[p++] - '0');
            }
            AppendUtf8(value, cp);
          } else {
            // Python keeps an unknown escape as written.
            value += '\\';
            value += e;
          }
      }
    }
    tokens_.push_back({TokenType::kString, std::move(value), 0, 0, Pos(b)});
    return p + 1;
  }

  size_t LexOperator(size_t p, std::vector<char>& brackets) {
    static const char* kTwo[] = {"//", "**", "==", "!=", "<=", ">="};
    for (const char* op : kTwo) {
      if (src_.compare(p, 2, op) == 0) {
        tokens_.push_back({TokenType::kOperator, op, 0, 0, Pos(p)});
        return p + 2;
      }
    }
    const char c = src_[p];
    if (std::string_view("+-*/%~<>=()[]{},.:|").find(c) == std::string_view::npos) {
      throw JinjaError(std::string("unexpected character '") + c + "' in tag", Pos(p));
    }
    if (c == '(' || c == '[' || c == '{') brackets.push_back(c == '(' ? ')' : c == '[' ? ']' : '}');
    if (c == ')' || c == ']' || c == '}') {
      if (brackets.empty() || brackets.back() != c) {
        throw JinjaError(std::string("unbalanced '") + c + "'", Pos(p));
      }
      brackets.pop_back();
    }
    tokens_.push_back({TokenType::kOperator, std::string(1, c), 0, 0, Pos(p)});
    return p + 1;
  }

  std::string src_;
  std::vector<size_t> line_starts_;
  std::vector<Token> tokens_;
};

}  // namespace

std::vector<Token> Tokenize(std::string_view source) { return Lexer(source).Run(); }

}  // namespace fpgaserve::jinja
