// Jinja built-ins: the filters, tests and methods of jinja2 (and of Python's str and dict) that chat
// templates use, with Python's results. Anything not listed here is an error naming it.
//
//   filters  abs capitalize count d default first float int items join last length list lower map reject
//            rejectattr replace reverse safe select selectattr string title tojson trim unique upper
//   tests    boolean callable defined divisibleby eq equalto even false float ge gt in integer iterable le
//            lower lt mapping ne none number odd sameas sequence string true undefined upper
//   str      capitalize count endswith find join lower lstrip replace rstrip split startswith strip title
//            upper
//   dict     get items keys values
// Lists have no methods: Hugging Face renders in jinja2's immutable sandbox, where append() and friends fail.
#pragma once

#include <cstddef>
#include <string>

#include "server/api/jinja_value.h"

namespace fpgaserve::jinja {

// Caps on what one operation may build, so a template cannot exhaust memory (jinja_template.h sets them).
struct ValueLimits {
  size_t max_text_bytes = 1 << 20;  // any string
  size_t max_items = 100000;        // any list (range() included)
};

// Throws JinjaError when `text` is longer than the limit (names `what`).
void CheckTextSize(const ValueLimits& limits, size_t bytes, const char* what);
void CheckItemCount(const ValueLimits& limits, size_t items, const char* what);

// The items a for loop visits: list items, dict keys, a string's characters; undefined gives none.
ValueList Iterate(const Value& v);
// Python len(): code points of a string, items of a list or dict; undefined is 0.
int64_t Length(const Value& v);
// obj.name / obj[key] as jinja2 resolves them; missing -> Undefined, except on an undefined obj (error).
Value GetAttr(const Value& obj, const std::string& name);
Value GetItem(const Value& obj, const Value& key);
// Python comparison for < <= > >=: numbers with numbers, strings with strings; `op` is the operator text.
bool Less(const Value& a, const Value& b, const std::string& op);
// `needle in haystack`.
bool Contains(const Value& haystack, const Value& needle);

Value ApplyFilter(const std::string& name, const Value& subject, CallArgs& args, const ValueLimits& limits);
bool ApplyTest(const std::string& name, const Value& subject, CallArgs& args);
// Calls obj.name(args) when obj is a str or dict with that method; *found = false (and returns undefined)
// when there is no such method.
Value CallMethod(const Value& obj, const std::string& name, CallArgs& args, const ValueLimits& limits, bool* found);

}  // namespace fpgaserve::jinja
