#include "server/api/jinja_builtins.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "server/api/jinja_error.h"
#include "server/api/jinja_strings.h"

namespace fpgaserve::jinja {
namespace {

const Value kAbsent;  // an argument not given

// A string result derived from `source` strings: user text when any of them holds user bytes.
Value Derived(std::string text, std::initializer_list<const Value*> sources) {
  bool user = false;
  for (const Value* s : sources) user = user || s->HasUserText();
  return user ? Value::UserStr(std::move(text)) : Value::Str(std::move(text));
}

const std::string& RequireStr(const Value& v, const std::string& what) {
  if (!v.is_string()) throw JinjaError(what + " expects a string, not " + v.TypeName());
  return v.str();
}

int64_t RequireInt(const Value& v, const std::string& what) {
  if (v.kind() != Value::Kind::kInt) throw JinjaError(what + " expects an integer, not " + v.TypeName());
  return v.int_value();
}

// The string form of a value for filters that call str() (trim, upper, ...), undefined as "".
Value AsString(const Value& v) { return Value::Text(v.ToText()); }

Value KeyValue(const ValueDict& d, const std::string& key) {
  return d.user_keys ? Value::UserStr(key) : Value::Str(key);
}

ValueList DictItems(const Value& v) {
  ValueList out;
  for (const auto& [k, item] : v.dict()->items) out.push_back(Value::Tuple({KeyValue(*v.dict(), k), item}));
  return out;
}

// The attribute path "a.b" of `v` (map / selectattr / join(attribute=...)).
Value AttributePath(const Value& v, const std::string& path) {
  Value cur = v;
  size_t start = 0;
  while (start <= path.size()) {
    size_t dot = path.find('.', start);
    if (dot == std::string::npos) dot = path.size();
    const std::string part = path.substr(start, dot - start);
    const bool digits = !part.empty() && part.find_first_not_of("0123456789") == std::string::npos;
    cur = digits && cur.is_list() ? GetItem(cur, Value::Int(std::stoll(part))) : GetAttr(cur, part);
    start = dot + 1;
  }
  return cur;
}

// select / reject / selectattr / rejectattr.
Value SelectFilter(const std::string& name, const Value& subject, CallArgs& args) {
  const bool attr = name == "selectattr" || name == "rejectattr";
  const bool keep = name == "select" || name == "selectattr";
  size_t next = 0;
  std::string attribute;
  if (attr) {
    if (args.positional.empty()) throw JinjaError("filter '" + name + "' needs an attribute name");
    attribute = RequireStr(args.positional[next++], "filter '" + name + "'");
  }
  std::string test;
  if (next < args.positional.size()) test = RequireStr(args.positional[next++], "filter '" + name + "'");
  CallArgs test_args;
  test_args.callee = "test '" + test + "'";
  test_args.positional.assign(args.positional.begin() + static_cast<std::ptrdiff_t>(next), args.positional.end());
  ValueList out;
  for (const Value& item : Iterate(subject)) {
    const Value probe = attr ? AttributePath(item, attribute) : item;
    const bool pass = test.empty() ? probe.Truthy() : ApplyTest(test, probe, test_args);
    if (pass == keep) out.push_back(item);
  }
  return Value::List(std::move(out));
}

Value Join(const Value& subject, CallArgs& args, const ValueLimits& limits) {
  args.Check(2, {"d", "attribute"});
  const Value& sep_v = args.Get(0, "d", kAbsent);
  const TaintedText sep = sep_v.is_undefined() ? TaintedText{} : sep_v.ToText();
  const Value& attribute = args.Get(1, "attribute", kAbsent);
  TaintedText out;
  bool first = true;
  for (const Value& item : Iterate(subject)) {
    if (!first) out.Append(sep);
    first = false;
    out.Append((attribute.is_undefined() ? item : AttributePath(item, attribute.ToText().text)).ToText());
    CheckTextSize(limits, out.text.size(), "join");
  }
  return Value::Text(std::move(out));
}

Value Tojson(const Value& subject, CallArgs& args, const ValueLimits& limits) {
  args.Check(1, {"indent", "ensure_ascii", "sort_keys"});
  const Value& indent = args.Get(0, "indent", kAbsent);
  const Value& ascii = args.Get(1, "ensure_ascii", kAbsent);
  const Value& sort = args.Get(2, "sort_keys", kAbsent);
  if (ascii.Truthy() || sort.Truthy()) throw JinjaError("tojson: ensure_ascii and sort_keys are not supported");
  const int n = indent.is_undefined() || indent.is_none() ? -1 : static_cast<int>(RequireInt(indent, "tojson indent"));
  std::string json = subject.ToJson(n < 0 ? -1 : std::min(n, 64));
  CheckTextSize(limits, json.size(), "tojson");
  return Derived(std::move(json), {&subject});
}

Value Strip(const Value& s, CallArgs& args, bool left, bool right, const std::string& what) {
  args.Check(1, {"chars"});
  const Value& chars = args.Get(0, "chars", kAbsent);
  const bool given = !chars.is_undefined() && !chars.is_none();
  const std::string text = PyStrip(s.str(), given ? RequireStr(chars, what) : "", left, right, given);
  return Derived(text, {&s});
}

Value Replace(const Value& s, CallArgs& args, const ValueLimits& limits, const std::string& what) {
  args.Check(3, {"old", "new", "count"});
  const Value& old_v = args.Get(0, "old", kAbsent);
  const Value& new_v = args.Get(1, "new", kAbsent);
  const Value& count = args.Get(2, "count", kAbsent);
  const std::string& new_text = RequireStr(new_v, what);
  const std::string& old_text = RequireStr(old_v, what);
  const int64_t limit = count.is_undefined() ? -1 : RequireInt(count, what);
  // The result's size, checked before it is built (a long replacement of a frequent text could be huge).
  const std::string& t = s.str();
  size_t hits = 0;
  if (old_text.empty()) {
    hits = CodePointCount(t) + 1;
  } else {
    for (size_t at = t.find(old_text); at != std::string::npos; at = t.find(old_text, at + old_text.size())) ++hits;
  }
  if (limit >= 0) hits = std::min(hits, static_cast<size_t>(limit));
  if (new_text.size() > old_text.size()) {
    CheckTextSize(limits, t.size() + hits * (new_text.size() - old_text.size()), "replace");
  }
  return Derived(PyReplace(t, old_text, new_text, limit), {&s, &new_v});
}

Value Split(const Value& s, CallArgs& args, const ValueLimits& limits) {
  args.Check(2, {"sep", "maxsplit"});
  const Value& sep = args.Get(0, "sep", kAbsent);
  const Value& maxsplit = args.Get(1, "maxsplit", kAbsent);
  const bool given = !sep.is_undefined() && !sep.is_none();
  if (given && RequireStr(sep, "split()").empty()) throw JinjaError("split(): empty separator");
  const std::vector<std::string> parts = PySplit(s.str(), given ? sep.str() : "", given,
                                                 maxsplit.is_undefined() ? -1 : RequireInt(maxsplit, "split()"));
  CheckItemCount(limits, parts.size(), "split()");
  ValueList out;
  for (const std::string& p : parts) out.push_back(Derived(p, {&s}));
  return Value::List(std::move(out));
}

bool StartsOrEnds(const Value& s, const Value& arg, bool starts, const std::string& what) {
  auto one = [&](const std::string& p) {
    const std::string& t = s.str();
    if (p.size() > t.size()) return false;
    return starts ? t.compare(0, p.size(), p) == 0 : t.compare(t.size() - p.size(), p.size(), p) == 0;
  };
  if (arg.is_list()) {
    for (const Value& p : arg.list()) {
      if (one(RequireStr(p, what))) return true;
    }
    return false;
  }
  return one(RequireStr(arg, what));
}

}  // namespace

void CheckTextSize(const ValueLimits& limits, size_t bytes, const char* what) {
  if (bytes > limits.max_text_bytes) {
    throw JinjaError(std::string(what) + " would build a string longer than the limit of " +
                     std::to_string(limits.max_text_bytes) + " bytes");
  }
}

void CheckItemCount(const ValueLimits& limits, size_t items, const char* what) {
  if (items > limits.max_items) {
    throw JinjaError(std::string(what) + " would build a list longer than the limit of " +
                     std::to_string(limits.max_items) + " items");
  }
}

ValueList Iterate(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined: return {};
    case Value::Kind::kList: return v.list();
    case Value::Kind::kDict: {
      ValueList keys;
      for (const auto& [k, item] : v.dict()->items) keys.push_back(KeyValue(*v.dict(), k));
      return keys;
    }
    case Value::Kind::kString: {
      ValueList chars;
      const std::vector<size_t> offs = CodePointOffsets(v.str());
      for (size_t i = 0; i + 1 < offs.size(); ++i) {
        chars.push_back(Derived(v.str().substr(offs[i], offs[i + 1] - offs[i]), {&v}));
      }
      return chars;
    }
    default: throw JinjaError(std::string("'") + v.TypeName() + "' object is not iterable");
  }
}

int64_t Length(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined: return 0;
    case Value::Kind::kString: return static_cast<int64_t>(CodePointCount(v.str()));
    case Value::Kind::kList: return static_cast<int64_t>(v.list().size());
    case Value::Kind::kDict: return static_cast<int64_t>(v.dict()->items.size());
    default: throw JinjaError(std::string("object of type '") + v.TypeName() + "' has no len()");
  }
}

Value GetAttr(const Value& obj, const std::string& name) {
  if (obj.is_undefined()) {
    throw JinjaError(obj.name().empty() ? std::string("undefined value has no attribute '").append(name).append("'")
                                        : obj.name());
  }
  if (obj.is_dict()) {
    if (const Value* v = obj.dict()->Find(name)) return *v;
  }
  // Appends, not operator+ chains: GCC 12 reports a false -Wrestrict on "literal" + std::string.
  std::string message = "'";
  message.append(obj.TypeName()).append(" object' has no attribute '").append(name).append("'");
  return Value::Undefined(std::move(message));
}

Value GetItem(const Value& obj, const Value& key) {
  if (obj.is_undefined()) throw JinjaError(obj.name().empty() ? "undefined value is not subscriptable" : obj.name());
  if (obj.is_dict()) {
    if (key.is_string()) {
      if (const Value* v = obj.dict()->Find(key.str())) return *v;
    }
    return Value::Undefined("'dict object' has no attribute " + key.Repr());
  }
  if ((obj.is_list() || obj.is_string()) && key.kind() == Value::Kind::kInt) {
    const int64_t n = Length(obj);
    int64_t i = key.int_value();
    if (i < 0) i += n;
    if (i < 0 || i >= n) {
      return Value::Undefined(std::string("'") + obj.TypeName() + " object' has no element " + key.Repr());
    }
    if (obj.is_list()) return obj.list()[static_cast<size_t>(i)];
    const std::vector<size_t> offs = CodePointOffsets(obj.str());
    const size_t b = offs[static_cast<size_t>(i)], e = offs[static_cast<size_t>(i) + 1];
    return Derived(obj.str().substr(b, e - b), {&obj});
  }
  if (key.is_string()) return GetAttr(obj, key.str());
  return Value::Undefined(std::string("'") + obj.TypeName() + " object' has no element " + key.Repr());
}

bool Less(const Value& a, const Value& b, const std::string& op) {
  auto num = [](const Value& v) { return v.is_number() || v.kind() == Value::Kind::kBool; };
  auto as_double = [](const Value& v) {
    return v.kind() == Value::Kind::kBool ? (v.bool_value() ? 1.0 : 0.0) : v.float_value();
  };
  int cmp = 0;
  if (num(a) && num(b)) {
    if (a.kind() == Value::Kind::kInt && b.kind() == Value::Kind::kInt) {
      cmp = a.int_value() < b.int_value() ? -1 : a.int_value() > b.int_value() ? 1 : 0;
    } else {
      const double x = as_double(a), y = as_double(b);
      if (std::isnan(x) || std::isnan(y)) return false;
      cmp = x < y ? -1 : x > y ? 1 : 0;
    }
  } else if (a.is_string() && b.is_string()) {
    cmp = a.str().compare(b.str());  // UTF-8 byte order is code point order
  } else if (a.is_list() && b.is_list() && a.is_tuple() == b.is_tuple()) {
    // Python compares sequences item by item; the first unequal pair decides, else the shorter is less.
    const ValueList& x = a.list();
    const ValueList& y = b.list();
    size_t i = 0;
    while (i < x.size() && i < y.size() && x[i].Equals(y[i])) ++i;
    if (i < x.size() && i < y.size()) return Less(x[i], y[i], op);
    cmp = x.size() < y.size() ? -1 : x.size() > y.size() ? 1 : 0;
  } else {
    throw JinjaError("'" + op + "' not supported between instances of '" + a.TypeName() + "' and '" + b.TypeName() +
                     "'");
  }
  if (op == "<") return cmp < 0;
  if (op == "<=") return cmp <= 0;
  if (op == ">") return cmp > 0;
  return cmp >= 0;
}

bool Contains(const Value& haystack, const Value& needle) {
  switch (haystack.kind()) {
    case Value::Kind::kUndefined: return false;
    case Value::Kind::kString:
      if (!needle.is_string()) throw JinjaError("'in <string>' requires a string as left operand");
      return haystack.str().find(needle.str()) != std::string::npos;
    case Value::Kind::kList:
      for (const Value& v : haystack.list()) {
        if (v.Equals(needle)) return true;
      }
      return false;
    case Value::Kind::kDict:
      if (!needle.hashable()) throw JinjaError(std::string("unhashable type: '") + needle.TypeName() + "'");
      return needle.is_string() && haystack.dict()->Find(needle.str()) != nullptr;
    default: throw JinjaError(std::string("argument of type '") + haystack.TypeName() + "' is not iterable");
  }
}

Value ApplyFilter(const std::string& name, const Value& subject, CallArgs& args, const ValueLimits& limits) {
  args.callee = "filter '" + name + "'";
  if (name == "trim") {
    const Value s = AsString(subject);
    return Strip(s, args, true, true, args.callee);
  }
  if (name == "length" || name == "count") {
    args.Check(0, {});
    return Value::Int(Length(subject));
  }
  if (name == "upper" || name == "lower" || name == "capitalize" || name == "title") {
    args.Check(0, {});
    const Value s = AsString(subject);
    const std::string& t = s.str();
    return Derived(name == "upper"   ? AsciiUpper(t)
                   : name == "lower" ? AsciiLower(t)
                   : name == "title" ? JinjaTitle(t)
                                     : AsciiCapitalize(t),
                   {&s});
  }
  if (name == "tojson") return Tojson(subject, args, limits);
  if (name == "default" || name == "d") {
    args.Check(2, {"default_value", "boolean"});
    const Value& fallback = args.Get(0, "default_value", kAbsent);
    const bool boolean = args.Get(1, "boolean", kAbsent).Truthy();
    const bool use = subject.is_undefined() || (boolean && !subject.Truthy());
    if (!use) return subject;
    return fallback.is_undefined() ? Value::Str("") : fallback;
  }
  if (name == "join") return Join(subject, args, limits);
  if (name == "items") {
    args.Check(0, {});
    if (subject.is_undefined()) return Value::List({});
    if (!subject.is_dict()) {
      throw JinjaError("filter 'items' expects a mapping, not " + std::string(subject.TypeName()));
    }
    return Value::List(DictItems(subject));
  }
  if (name == "first" || name == "last") {
    args.Check(0, {});
    const ValueList items = Iterate(subject);
    if (items.empty()) {
      return Value::Undefined("'" + std::string(subject.TypeName()) + " object' has no " + name + " item");
    }
    return name == "first" ? items.front() : items.back();
  }
  if (name == "string") {
    args.Check(0, {});
    return AsString(subject);
  }
  if (name == "safe") {
    args.Check(0, {});
    return subject;
  }
  if (name == "int" || name == "float") {
    args.Check(1, {"default"});
    const Value& fallback = args.Get(0, "default", kAbsent);
    const Value dflt = fallback.is_undefined() ? (name == "int" ? Value::Int(0) : Value::Float(0)) : fallback;
    // jinja2 converts with int()/float(), which an undefined value refuses.
    if (subject.is_undefined()) {
      throw JinjaError(subject.name().empty() ? "undefined value in filter '" + name + "'" : subject.name());
    }
    double d = 0;
    if (subject.is_number()) {
      d = subject.float_value();
      if (name == "int" && subject.kind() == Value::Kind::kInt) return subject;
    } else if (subject.kind() == Value::Kind::kBool) {
      d = subject.bool_value() ? 1 : 0;
    } else if (subject.is_string()) {
      const std::string t = PyStrip(subject.str(), "", true, true, false);
      char* end = nullptr;
      d = std::strtod(t.c_str(), &end);
      if (t.empty() || *end != '\0') return dflt;
    } else {
      return dflt;
    }
    if (name == "float") return Value::Float(d);
    if (!std::isfinite(d) || std::fabs(d) >= 9.2e18) return dflt;
    return Value::Int(static_cast<int64_t>(d));
  }
  if (name == "abs") {
    args.Check(0, {});
    if (subject.kind() == Value::Kind::kInt) {
      if (subject.int_value() == INT64_MIN) throw JinjaError("integer overflow in abs");
      return Value::Int(std::llabs(subject.int_value()));
    }
    if (subject.kind() == Value::Kind::kFloat) return Value::Float(std::fabs(subject.float_value()));
    if (subject.kind() == Value::Kind::kBool) return Value::Int(subject.bool_value() ? 1 : 0);
    throw JinjaError("filter 'abs' expects a number, not " + std::string(subject.TypeName()));
  }
  if (name == "list") {
    args.Check(0, {});
    return Value::List(Iterate(subject));
  }
  if (name == "reverse") {
    args.Check(0, {});
    if (subject.is_string()) {
      ValueList chars = Iterate(subject);
      std::string out;
      for (auto it = chars.rbegin(); it != chars.rend(); ++it) out += it->str();
      return Derived(out, {&subject});
    }
    ValueList items = Iterate(subject);
    return Value::List(ValueList(items.rbegin(), items.rend()));
  }
  if (name == "unique") {
    args.Check(0, {});
    ValueList out;
    for (const Value& v : Iterate(subject)) {
      // jinja2 keeps the items it has seen in a set.
      if (!v.hashable()) throw JinjaError(std::string("unhashable type: '") + v.TypeName() + "'");
      bool seen = false;
      for (const Value& o : out) seen = seen || o.Equals(v);
      if (!seen) out.push_back(v);
    }
    return Value::List(std::move(out));
  }
  if (name == "replace") {
    const Value s = AsString(subject);
    return Replace(s, args, limits, args.callee);
  }
  if (name == "select" || name == "reject" || name == "selectattr" || name == "rejectattr") {
    return SelectFilter(name, subject, args);
  }
  if (name == "map") {
    args.Check(1, {"attribute", "default"});
    ValueList out;
    const Value& attribute = args.Get(99, "attribute", kAbsent);
    if (!attribute.is_undefined()) {
      const Value& dflt = args.Get(99, "default", kAbsent);
      for (const Value& item : Iterate(subject)) {
        Value v = AttributePath(item, attribute.ToText().text);
        out.push_back(v.is_undefined() && !dflt.is_undefined() ? dflt : v);
      }
      return Value::List(std::move(out));
    }
    if (args.positional.empty()) throw JinjaError("filter 'map' needs a filter name or attribute=");
    const std::string filter = RequireStr(args.positional[0], args.callee);
    for (const Value& item : Iterate(subject)) {
      CallArgs inner;
      out.push_back(ApplyFilter(filter, item, inner, limits));
    }
    return Value::List(std::move(out));
  }
  throw JinjaError("unknown filter '" + name + "'");
}

bool ApplyTest(const std::string& name, const Value& v, CallArgs& args) {
  args.callee = "test '" + name + "'";
  const Value& arg = args.Get(0, "", kAbsent);
  using K = Value::Kind;
  // Tests that compare with something take exactly one argument; the others none (jinja2 refuses extras).
  static const char* const kOneArgument[] = {"divisibleby", "eq", "equalto", "==", "ne", "!=", "lt", "<",
                                             "le",          "<=", "gt",      ">",  "ge", ">=", "in", "sameas"};
  static const char* const kNoArgument[] = {"defined",  "undefined", "none",   "boolean", "true",    "false",
                                            "integer",  "float",     "number", "string",  "mapping", "iterable",
                                            "sequence", "callable",  "lower",  "upper",   "odd",     "even"};
  bool one = false, known = false;
  for (const char* t : kOneArgument) one = one || name == t;
  for (const char* t : kNoArgument) known = known || name == t;
  if (!one && !known) throw JinjaError("unknown test '" + name + "'");
  if (args.positional.size() + args.keyword.size() != (one ? 1u : 0u)) {
    throw JinjaError(args.callee + " takes " + (one ? "one argument" : "no arguments") + ", " +
                     std::to_string(args.positional.size() + args.keyword.size()) + " given");
  }
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.is_none();
  if (name == "boolean") return v.kind() == K::kBool;
  if (name == "true") return v.kind() == K::kBool && v.bool_value();
  if (name == "false") return v.kind() == K::kBool && !v.bool_value();
  if (name == "integer") return v.kind() == K::kInt;
  if (name == "float") return v.kind() == K::kFloat;
  if (name == "number") return v.is_number() || v.kind() == K::kBool;
  if (name == "string") return v.is_string();
  if (name == "mapping") return v.is_dict();
  if (name == "iterable") return v.is_string() || v.is_list() || v.is_dict() || v.is_undefined();
  // jinja2's Undefined has a length and an item lookup, so it passes as a sequence (and iterable).
  if (name == "sequence") return v.is_string() || v.is_list() || v.is_dict() || v.is_undefined();
  if (name == "callable") return v.kind() == K::kFunction;
  if (name == "lower") return v.is_string() && AsciiLower(v.str()) == v.str();
  if (name == "upper") return v.is_string() && AsciiUpper(v.str()) == v.str();
  if (name == "odd" || name == "even" || name == "divisibleby") {
    // Python's `value % n == r` (odd: n 2, r 1; even: n 2, r 0): floats and bools take part too.
    const Value& divisor = name == "divisibleby" ? arg : Value::Int(2);
    const bool numbers = (v.is_number() || v.kind() == K::kBool) && (divisor.is_number() || divisor.kind() == K::kBool);
    if (!numbers) throw JinjaError(args.callee + " expects numbers, not " + v.TypeName());
    auto as_double = [](const Value& x) {
      return x.kind() == K::kBool ? (x.bool_value() ? 1.0 : 0.0) : x.float_value();
    };
    const double n = as_double(divisor);
    if (n == 0) throw JinjaError("integer division or modulo by zero");
    const double x = as_double(v);
    double r = x - std::floor(x / n) * n;
    if (v.kind() == K::kInt && divisor.kind() == K::kInt) {
      const int64_t m = v.int_value() % divisor.int_value();
      r = static_cast<double>(m != 0 && ((m < 0) != (divisor.int_value() < 0)) ? m + divisor.int_value() : m);
    }
    return name == "odd" ? r == 1 : r == 0;
  }
  if (name == "eq" || name == "equalto" || name == "==") return v.Equals(arg);
  if (name == "ne" || name == "!=") return !v.Equals(arg);
  if (name == "lt" || name == "<") return Less(v, arg, "<");
  if (name == "le" || name == "<=") return Less(v, arg, "<=");
  if (name == "gt" || name == ">") return Less(v, arg, ">");
  if (name == "ge" || name == ">=") return Less(v, arg, ">=");
  if (name == "in") return Contains(arg, v);
  if (name == "sameas") {
    if (v.kind() != arg.kind()) return false;
    if (v.is_list() || v.is_dict()) return v.is_list() ? &v.list() == &arg.list() : v.dict() == arg.dict();
    return v.Equals(arg);
  }
  throw JinjaError("unknown test '" + name + "'");
}

Value CallMethod(const Value& obj, const std::string& name, CallArgs& args, const ValueLimits& limits, bool* found) {
  *found = true;
  args.callee = name + "()";
  if (obj.is_string()) {
    if (name == "strip") return Strip(obj, args, true, true, args.callee);
    if (name == "lstrip") return Strip(obj, args, true, false, args.callee);
    if (name == "rstrip") return Strip(obj, args, false, true, args.callee);
    if (name == "upper" || name == "lower" || name == "title" || name == "capitalize") {
      args.Check(0, {});
      const std::string& t = obj.str();
      // str.title() is Python's, unlike the title filter (JinjaTitle).
      return Derived(name == "upper"   ? AsciiUpper(t)
                     : name == "lower" ? AsciiLower(t)
                     : name == "title" ? AsciiTitle(t)
                                       : AsciiCapitalize(t),
                     {&obj});
    }
    if (name == "startswith" || name == "endswith") {
      args.Check(1, {});
      if (args.positional.empty()) throw JinjaError(args.callee + " takes exactly one argument");
      return Value::Bool(StartsOrEnds(obj, args.positional[0], name == "startswith", args.callee));
    }
    if (name == "split") return Split(obj, args, limits);
    if (name == "replace") return Replace(obj, args, limits, args.callee);
    if (name == "find" || name == "count") {
      args.Check(1, {});
      const std::string& sub = RequireStr(args.Get(0, "", kAbsent), args.callee);
      const std::string& s = obj.str();
      if (name == "find") {
        const size_t at = s.find(sub);
        return Value::Int(at == std::string::npos ? -1 : static_cast<int64_t>(CodePointCount(s.substr(0, at))));
      }
      if (sub.empty()) return Value::Int(static_cast<int64_t>(CodePointCount(s)) + 1);
      int64_t n = 0;
      for (size_t at = s.find(sub); at != std::string::npos; at = s.find(sub, at + sub.size())) ++n;
      return Value::Int(n);
    }
    if (name == "join") {
      args.Check(1, {});
      CallArgs join_args;
      join_args.positional.push_back(obj);
      return Join(args.Get(0, "", kAbsent), join_args, limits);
    }
  }
  if (obj.is_dict() && !obj.dict()->is_namespace) {
    if (name == "get") {
      args.Check(2, {});
      const Value& key = args.Get(0, "", kAbsent);
      const Value* v = key.is_string() ? obj.dict()->Find(key.str()) : nullptr;
      if (v != nullptr) return *v;
      const Value& dflt = args.Get(1, "", kAbsent);
      return dflt.is_undefined() ? Value::None() : dflt;
    }
    if (name == "items") {
      args.Check(0, {});
      return Value::List(DictItems(obj));
    }
    if (name == "keys") {
      args.Check(0, {});
      return Value::List(Iterate(obj));
    }
    if (name == "values") {
      args.Check(0, {});
      ValueList out;
      for (const auto& [k, v] : obj.dict()->items) out.push_back(v);
      return Value::List(std::move(out));
    }
  }
  *found = false;
  return Value();
}

}  // namespace fpgaserve::jinja
