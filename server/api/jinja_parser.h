// Jinja parser: tokens (jinja_lexer.h) -> syntax tree (jinja_ast.h), following jinja2's grammar and operator
// precedence (lowest first): `x if c else y`, or, and, not, comparisons and `in`, + -, ~, * / // %, **,
// unary - +, then primaries with .attr [index] [a:b] (call) and | filter / is test.
//
// Statements: if/elif/else, for (tuple targets, `if` filter, else; loop.* variables), set (name, ns.attr,
// block form), break/continue. Everything else jinja2 knows (macro, call, filter blocks, include, import,
// extends, block, raw, with, recursive loops, generation) is refused with an error naming the tag.
#pragma once

#include <vector>

#include "server/api/jinja_ast.h"
#include "server/api/jinja_lexer.h"

namespace fpgaserve::jinja {

// The template's statements. Throws JinjaError with the position of the first problem; nesting (brackets,
// blocks, operators) deeper than `max_depth` is refused, so a hostile template cannot overflow the stack.
NodePtr Parse(const std::vector<Token>& tokens, int max_depth);

}  // namespace fpgaserve::jinja
