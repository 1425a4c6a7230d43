// JinjaTemplate: a Jinja2 template (a subset) parsed once and rendered many times, the way Hugging Face
// renders a model's chat template (jinja2 with trim_blocks and lstrip_blocks, raise_exception(),
// strftime_now(), loop controls, and a tojson that keeps non-ASCII text and key order).
//
// What is supported is listed in jinja_parser.h (syntax) and jinja_builtins.h (filters, tests, methods);
// globals are range(), namespace(), raise_exception(msg) and strftime_now(format). Anything else is an
// error naming the construct and its line:column, never undefined behaviour.
// Differences from jinja2 that a chat template could notice (none of the tested model templates does):
// integers are 64-bit (overflow is an error); case mapping is ASCII-only; dict keys are strings; `%` on a
// string (printf formatting) is refused; select/reject/map/unique/reverse/items build lists at once where
// jinja2 returns lazy generators (which print as "<generator ...>" and fail only when iterated); range(),
// dict views and the loop object are plain lists and dicts when printed. No autoescaping (HF has none).
// tests/server/api/jinja_fuzz_oracle.py compares random templates with jinja2 to keep the rest equal.
//
// Untrusted input: the template text may come from a downloaded model file, and the variables from API
// clients. Parsing bounds nesting depth; rendering bounds steps (so loops end), output size and the size of
// every string and list built, each from JinjaOptions, and reports exceeding one as an error.
//
// Thread-safety: Parse is a pure function; a parsed JinjaTemplate is immutable and Render may run
// concurrently from many threads.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "server/api/jinja_value.h"

namespace fpgaserve {

namespace jinja {
struct Node;
}

struct JinjaOptions {
  size_t max_output_bytes = 1 << 20;  // rendered text, and any one string built on the way
  size_t max_items = 100000;          // any one list (range() included)
  // Statements + expressions + loop iterations evaluated. A chat template spends some 50 per message;
  // a million is a few hundred milliseconds of work at worst.
  int64_t max_steps = 1000000;
  int max_depth = 100;  // nesting of blocks and expressions in the source, and of input data
};

// Render's variables.
struct JinjaRenderInput {
  // User data (messages, tools, ...): every string in it is user text in the result (jinja_value.h).
  nlohmann::ordered_json user_variables = nlohmann::ordered_json::object();
  // Strings that come from the server's configuration or the model, not from a client (bos_token,
  // eos_token): their bytes are template text in the result. They shadow user variables of the same name.
  std::map<std::string, std::string> trusted_variables;
  // What strftime_now() formats: seconds since the Unix epoch, formatted in UTC.
  int64_t now_unix_seconds = 0;
};

class JinjaTemplate {
 public:
  // Parses `source`. InvalidArgument "chat template 3:14: <what is wrong>" on a syntax error, an unknown
  // or unsupported tag, or nesting beyond options.max_depth. (Unknown filters and tests are reported when
  // rendering reaches them, as jinja2 reports them when compiling: either way before any output is used.)
  static Result<JinjaTemplate> Parse(std::string_view source, const JinjaOptions& options = {});

  // Renders with `input`. Returns the text with its user-text ranges. Errors, all InvalidArgument:
  //   "chat template 5:3: <error>" for an evaluation error (undefined attribute access, type error,
  //   unknown filter, a limit exceeded), or "<message>" alone when the template called raise_exception()
  //   (it rejects the conversation: a client error, its text written by the template author).
  Result<jinja::TaintedText> Render(const JinjaRenderInput& input) const;

 private:
  JinjaTemplate(std::shared_ptr<const jinja::Node> root, JinjaOptions options)
      : root_(std::move(root)), options_(options) {}

  std::shared_ptr<const jinja::Node> root_;  // immutable once parsed
  JinjaOptions options_;
};

}  // namespace fpgaserve
