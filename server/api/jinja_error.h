// JinjaError: how the Jinja interpreter reports a problem internally.
//
// The lexer, parser and evaluator are deeply recursive; an exception carries an error from any depth to the
// one boundary (JinjaTemplate::Parse / Render, jinja_template.h), which catches it and returns a Status.
// Nothing outside server/http/jinja_* sees it.
#pragma once

#include <stdexcept>
#include <string>

namespace fpgaserve::jinja {

// A place in the template source, 1-based (0:0 = unknown, e.g. a value error raised inside a filter is
// given the position of the expression that called it).
struct SourcePos {
  int line = 0;
  int column = 0;
};

class JinjaError : public std::runtime_error {
 public:
  explicit JinjaError(const std::string& message, SourcePos pos = {}) : std::runtime_error(message), pos_(pos) {}
  SourcePos pos() const { return pos_; }
  // Attaches a position when the error has none yet (the innermost known position wins).
  void SetPosIfUnknown(SourcePos pos) {
    if (pos_.line == 0) pos_ = pos;
  }

 private:
  SourcePos pos_;
};

// raise_exception(message) called by the template: the template rejects its input.
class TemplateRaisedError : public JinjaError {
 public:
  using JinjaError::JinjaError;
};

}  // namespace fpgaserve::jinja
