// Jinja syntax tree: one node type whose fields are read according to its kind (listed below). A template
// is a kBody of statements; the parser (jinja_parser.h) builds it, the evaluator (jinja_evaluator.h) walks it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "server/api/jinja_error.h"
#include "server/api/jinja_value.h"

namespace fpgaserve::jinja {

enum class NodeKind {
  // Expressions.
  kLiteral,  // value
  kName,     // name
  kList,     // kids: items; negate: a tuple (1, 2)
  kDict,     // kids: key0, value0, key1, value1, ...
  kGetattr,  // kids[0].name
  kGetitem,  // kids[0][kids[1]]
  kSlice,    // kids[0][kids[1]:kids[2]:kids[3]], absent parts null
  kUnary,    // name: "not", "-" or "+"; kids[0]
  kBinary,   // name: + - * / // % ** ~ and or; kids[0], kids[1]
  kCompare,  // kids[0] ops[0] kids[1] ops[1] kids[2] ...; ops: == != < <= > >= in notin
  kCond,     // kids[0] if kids[1] else kids[2] (kids[2] null: undefined)
  kFilter,   // kids[0] | name(args)
  kTest,     // kids[0] is [not] name(args); negate
  kCall,     // kids[0](args)
  // Statements.
  kBody,   // kids: statements in order
  kData,   // name: template text, printed as is
  kPrint,  // {{ kids[0] }}
  kIf,     // kids: cond0, body0, cond1, body1, ... [, else body]
  kFor,    // for targets in kids[0] [if kids[1]]: kids[2] [else kids[3]]
  kSet,    // set name[.attr] = kids[0]; block set (negate): kids[0] is the body whose output is assigned
  kBreak,
  kContinue,
};

struct Node {
  NodeKind kind;
  SourcePos pos;
  std::string name;
  std::string attr;  // kSet: the attribute of `set ns.attr = ...`, else ""
  Value value;       // kLiteral
  std::vector<std::unique_ptr<Node>> kids;
  std::vector<std::string> ops;             // kCompare operators; kFor target names
  std::vector<std::unique_ptr<Node>> args;  // kFilter, kTest, kCall arguments
  std::vector<std::string> arg_names;       // parallel to args: "" positional, else the keyword
  bool negate = false;                      // kTest: "is not"; kSet: block form; kList: a tuple

  Node(NodeKind k, SourcePos p) : kind(k), pos(p) {}
};

using NodePtr = std::unique_ptr<Node>;

}  // namespace fpgaserve::jinja
