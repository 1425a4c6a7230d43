// Jinja lexer: template source -> tokens, with jinja2's whitespace rules already applied to the text between
// tags, so the parser never deals with whitespace.
//
// The rules are those of jinja2.Environment(trim_blocks=True, lstrip_blocks=True), the settings Hugging Face
// renders chat templates with:
//   - the source's "\r\n" and "\r" become "\n", and one trailing "\n" of the source is dropped
//     (keep_trailing_newline=False);
//   - "{%-", "{{-", "{#-" strip all whitespace before the tag; "-%}", "-}}", "-#}" all whitespace after it;
//   - trim_blocks: the first "\n" after a "%}" or "#}" is dropped ("+%}" keeps it);
//   - lstrip_blocks: spaces and tabs between the start of a line and a "{%" or "{#" are dropped ("{%+"
//     keeps them); "start of a line" includes the point right after a tag whose end consumed a newline.
// Comments produce no token. Inside tags: names, strings (Python escapes), integers, floats, operators.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "server/api/jinja_error.h"

namespace fpgaserve::jinja {

enum class TokenType {
  kData,        // text outside tags (text: the text)
  kVarBegin,    // {{
  kVarEnd,      // }}
  kBlockBegin,  // {%
  kBlockEnd,    // %}
  kName,        // identifiers and keywords (text)
  kString,      // string literal (text: its value, escapes resolved)
  kInt,         // int_value
  kFloat,       // float_value
  kOperator,    // text: one of + - * / // % ** ~ == != < <= > >= = ( ) [ ] { } , . : |
  kEof,
};

struct Token {
  TokenType type = TokenType::kEof;
  std::string text;
  int64_t int_value = 0;
  double float_value = 0;
  SourcePos pos;
};

// The tokens of `source`, ending with kEof. Throws JinjaError (with the position) on an unterminated tag,
// comment or string, an unknown character, unbalanced brackets, or an integer too large for 64 bits.
std::vector<Token> Tokenize(std::string_view source);

}  // namespace fpgaserve::jinja
