// Jinja evaluator: runs a parsed template (jinja_ast.h) against variables and appends its output.
//
// Semantics are jinja2's with its default Undefined: an unknown name or missing attribute is undefined;
// printing it gives "", testing it gives false, iterating it gives nothing, and taking an attribute or item
// of it, or doing arithmetic with it, is an error. Scopes follow jinja2: `set` at the top level or inside
// if/else assigns in the enclosing scope; each loop iteration has its own scope, so a `set` inside a loop
// is gone at the next iteration and after the loop (namespace() objects are how a loop hands values out).
//
// Every statement, expression and loop iteration costs one step; more than EvalBudget::max_steps is an
// error, as is output beyond max_output_bytes, so a hostile template ends quickly.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "server/api/jinja_ast.h"
#include "server/api/jinja_builtins.h"

namespace fpgaserve::jinja {

struct EvalBudget {
  ValueLimits values;
  size_t max_output_bytes = 1 << 20;
  int64_t max_steps = 1000000;
};

using Scope = std::unordered_map<std::string, Value>;

// Runs `body` with `globals` as the outermost scope and appends the output to *out. Throws JinjaError (with
// the position of the failing node) on any error.
void Evaluate(const Node& body, Scope globals, const EvalBudget& budget, TaintedText* out);

}  // namespace fpgaserve::jinja
