#include "server/api/jinja_value.h"

#include <charconv>
#include <cmath>
#include <cstdio>

#include "server/api/jinja_error.h"

namespace fpgaserve::jinja {

void TaintedText::Append(const TaintedText& other) {
  const size_t shift = text.size();
  text.append(other.text);
  for (const TextSpan& s : other.user) {
    if (!user.empty() && user.back().end == s.begin + shift) {
      user.back().end = s.end + shift;  // adjacent ranges merge, so a span is never split in two
    } else {
      user.push_back({s.begin + shift, s.end + shift});
    }
  }
}

const Value* ValueDict::Find(std::string_view key) const {
  for (const auto& [k, v] : items) {
    if (k == key) return &v;
  }
  return nullptr;
}

void ValueDict::Set(const std::string& key, Value value) {
  for (auto& [k, v] : items) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  items.emplace_back(key, std::move(value));
}

Value Value::Undefined(std::string name) {
  Value v;
  v.s_.text = std::move(name);
  return v;
}
Value Value::None() {
  Value v;
  v.kind_ = Kind::kNone;
  return v;
}
Value Value::Bool(bool b) {
  Value v;
  v.kind_ = Kind::kBool;
  v.b_ = b;
  return v;
}
Value Value::Int(int64_t i) {
  Value v;
  v.kind_ = Kind::kInt;
  v.i_ = i;
  return v;
}
Value Value::Float(double d) {
  Value v;
  v.kind_ = Kind::kFloat;
  v.d_ = d;
  return v;
}
Value Value::Str(std::string trusted_text) {
  Value v;
  v.kind_ = Kind::kString;
  v.s_.text = std::move(trusted_text);
  return v;
}
Value Value::UserStr(std::string user_text) {
  Value v = Str(std::move(user_text));
  if (!v.s_.text.empty()) v.s_.user.push_back({0, v.s_.text.size()});
  return v;
}
Value Value::Text(TaintedText text) {
  Value v;
  v.kind_ = Kind::kString;
  v.s_ = std::move(text);
  return v;
}
Value Value::List(ValueList items) {
  Value v;
  v.kind_ = Kind::kList;
  v.list_ = std::make_shared<ValueList>(std::move(items));
  return v;
}
Value Value::Tuple(ValueList items) {
  Value v = List(std::move(items));
  v.tuple_ = true;
  return v;
}
Value Value::Dict(std::shared_ptr<ValueDict> dict) {
  Value v;
  v.kind_ = Kind::kDict;
  v.dict_ = std::move(dict);
  return v;
}
Value Value::Function(std::string name, NativeFunction fn) {
  Value v;
  v.kind_ = Kind::kFunction;
  v.s_.text = std::move(name);
  v.fn_ = std::make_shared<NativeFunction>(std::move(fn));
  return v;
}

Value Value::FromJson(const nlohmann::ordered_json& json, int max_depth, bool user_text) {
  if (max_depth <= 0) throw JinjaError("the template's input data nests too deeply");
  switch (json.type()) {
    case nlohmann::ordered_json::value_t::null: return None();
    case nlohmann::ordered_json::value_t::boolean: return Bool(json.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer: return Int(json.get<int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned: {
      const auto u = json.get<uint64_t>();
      if (u > static_cast<uint64_t>(INT64_MAX)) return Float(static_cast<double>(u));
      return Int(static_cast<int64_t>(u));
    }
    case nlohmann::ordered_json::value_t::number_float: return Float(json.get<double>());
    case nlohmann::ordered_json::value_t::string:
      return user_text ? UserStr(json.get<std::string>()) : Str(json.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      ValueList items;
      for (const auto& item : json) items.push_back(FromJson(item, max_depth - 1, user_text));
      return List(std::move(items));
    }
    case nlohmann::ordered_json::value_t::object: {
      auto dict = std::make_shared<ValueDict>();
      dict->user_keys = user_text;
      for (const auto& [k, item] : json.items()) dict->Set(k, FromJson(item, max_depth - 1, user_text));
      return Dict(std::move(dict));
    }
    default: throw JinjaError("the template's input data holds a value of unsupported type");
  }
}

bool Value::Truthy() const {
  switch (kind_) {
    case Kind::kUndefined:
    case Kind::kNone: return false;
    case Kind::kBool: return b_;
    case Kind::kInt: return i_ != 0;
    case Kind::kFloat: return d_ != 0;
    case Kind::kString: return !s_.text.empty();
    case Kind::kList: return !list_->empty();
    case Kind::kDict: return !dict_->items.empty();
    case Kind::kFunction: return true;
  }
  return false;
}

std::string PyFloatRepr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d < 0 ? "-inf" : "inf";
  char buf[64];
  // Shortest round-trip digits in scientific form: [-]d[.ddd]e[+-]XX.
  const auto r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string sci(buf, r.ptr);
  const size_t e = sci.find('e');
  const int exp10 = std::stoi(sci.substr(e + 1));
  std::string digits;
  bool neg = false;
  for (size_t i = 0; i < e; ++i) {
    if (sci[i] == '-') neg = true;
    if (std::isdigit(static_cast<unsigned char>(sci[i]))) digits += sci[i];
  }
  const int decpt = exp10 + 1;  // the decimal point sits after this many digits
  std::string out = neg ? "-" : "";
  if (decpt > 16 || decpt < -3) {
    // Python's repr switches to exponent form outside [1e-4, 1e16).
    out += digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char exp[16];
    std::snprintf(exp, sizeof exp, "e%c%02d", exp10 < 0 ? '-' : '+', std::abs(exp10));
    return out + exp;
  }
  if (decpt <= 0) return out + "0." + std::string(static_cast<size_t>(-decpt), '0') + digits;
  if (static_cast<size_t>(decpt) >= digits.size()) {
    return out + digits + std::string(static_cast<size_t>(decpt) - digits.size(), '0') + ".0";
  }
  return out + digits.substr(0, static_cast<size_t>(decpt)) + "." + digits.substr(static_cast<size_t>(decpt));
}

namespace {

std::string PyStrRepr(const std::string& s) {
  const bool has_single = s.find('\'') != std::string::npos;
  const bool has_double = s.find('"') != std::string::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  std::string out(1, quote);
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '\\') {
      out += "\\\\";
    } else if (c == static_cast<unsigned char>(quote)) {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else if (c == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) <= 0xA0) {
      // U+0080..U+00A0 are not printable for Python's repr.
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(s[i + 1]));
      out += buf;
      ++i;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + quote;
}

void JsonString(const std::string& s, std::string& out) {
  out += '"';
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

void ToJsonInto(const Value& v, int indent, int level, std::string& out) {
  auto newline = [&](int lvl) {
    out += '\n';
    out.append(static_cast<size_t>(indent * lvl), ' ');
  };
  const char* item_sep = indent < 0 ? ", " : ",";
  switch (v.kind()) {
    case Value::Kind::kNone: out += "null"; return;
    case Value::Kind::kBool: out += v.bool_value() ? "true" : "false"; return;
    case Value::Kind::kInt: out += std::to_string(v.int_value()); return;
    case Value::Kind::kFloat: {
      const double d = v.float_value();
      out += std::isnan(d) ? "NaN" : std::isinf(d) ? (d < 0 ? "-Infinity" : "Infinity") : PyFloatRepr(d);
      return;
    }
    case Value::Kind::kString: JsonString(v.str(), out); return;
    case Value::Kind::kList: {
      if (v.list().empty()) {
        out += "[]";
        return;
      }
      out += '[';
      for (size_t i = 0; i < v.list().size(); ++i) {
        if (i > 0) out += item_sep;
        if (indent >= 0) newline(level + 1);
        ToJsonInto(v.list()[i], indent, level + 1, out);
      }
      if (indent >= 0) newline(level);
      out += ']';
      return;
    }
    case Value::Kind::kDict: {
      if (v.dict()->items.empty()) {
        out += "{}";
        return;
      }
      out += '{';
      bool first = true;
      for (const auto& [k, item] : v.dict()->items) {
        if (!first) out += item_sep;
        first = false;
        if (indent >= 0) newline(level + 1);
        JsonString(k, out);
        out += ": ";
        ToJsonInto(item, indent, level + 1, out);
      }
      if (indent >= 0) newline(level);
      out += '}';
      return;
    }
    case Value::Kind::kUndefined:
    case Value::Kind::kFunction: break;
  }
  throw JinjaError(std::string("tojson cannot serialise a value of type ") + v.TypeName());
}

}  // namespace

std::string Value::Repr() const {
  switch (kind_) {
    case Kind::kString: return PyStrRepr(s_.text);
    case Kind::kList: {
      std::string out = tuple_ ? "(" : "[";
      for (size_t i = 0; i < list_->size(); ++i) out += (i > 0 ? ", " : "") + (*list_)[i].Repr();
      if (tuple_ && list_->size() == 1) out += ",";
      return out + (tuple_ ? ")" : "]");
    }
    case Kind::kDict: {
      if (dict_->is_namespace) return "<Namespace>";
      std::string out = "{";
      bool first = true;
      for (const auto& [k, v] : dict_->items) {
        out += (first ? "" : ", ") + PyStrRepr(k) + ": " + v.Repr();
        first = false;
      }
      return out + "}";
    }
    case Kind::kUndefined: return "Undefined";
    default: return ToText().text;
  }
}

TaintedText Value::ToText() const {
  TaintedText t;
  switch (kind_) {
    case Kind::kUndefined: return t;
    case Kind::kNone: t.text = "None"; return t;
    case Kind::kBool: t.text = b_ ? "True" : "False"; return t;
    case Kind::kInt: t.text = std::to_string(i_); return t;
    case Kind::kFloat: t.text = PyFloatRepr(d_); return t;
    case Kind::kString: return s_;
    case Kind::kFunction: t.text = "<function " + s_.text + ">"; return t;
    case Kind::kList:
    case Kind::kDict:
      t.text = Repr();
      if (HasUserText() && !t.text.empty()) t.user.push_back({0, t.text.size()});
      return t;
  }
  return t;
}

bool Value::Equals(const Value& o) const {
  if (is_number() && o.is_number()) {
    if (kind_ == Kind::kInt && o.kind_ == Kind::kInt) return i_ == o.i_;
    return float_value() == o.float_value();
  }
  // Python's bool is an int: True == 1.
  if ((kind_ == Kind::kBool && o.is_number()) || (is_number() && o.kind_ == Kind::kBool)) {
    const double a = kind_ == Kind::kBool ? (b_ ? 1 : 0) : float_value();
    const double b = o.kind_ == Kind::kBool ? (o.b_ ? 1 : 0) : o.float_value();
    return a == b;
  }
  if (kind_ != o.kind_) return false;
  switch (kind_) {
    case Kind::kUndefined:
    case Kind::kNone: return true;
    case Kind::kBool: return b_ == o.b_;
    case Kind::kString: return s_.text == o.s_.text;
    case Kind::kList:
      if (list_->size() != o.list_->size()) return false;
      for (size_t i = 0; i < list_->size(); ++i) {
        if (!(*list_)[i].Equals((*o.list_)[i])) return false;
      }
      return true;
    case Kind::kDict:
      if (dict_ == o.dict_) return true;
      if (dict_->items.size() != o.dict_->items.size()) return false;
      for (const auto& [k, v] : dict_->items) {
        const Value* other = o.dict_->Find(k);
        if (other == nullptr || !v.Equals(*other)) return false;
      }
      return true;
    case Kind::kFunction: return fn_ == o.fn_;
    default: return false;
  }
}

std::string Value::ToJson(int indent) const {
  std::string out;
  ToJsonInto(*this, indent, 0, out);
  return out;
}

bool Value::HasUserText() const {
  switch (kind_) {
    case Kind::kString: return s_.HasUser();
    case Kind::kList:
      for (const Value& v : *list_) {
        if (v.HasUserText()) return true;
      }
      return false;
    case Kind::kDict:
      for (const auto& [k, v] : dict_->items) {
        if (v.HasUserText()) return true;
      }
      return false;
    default: return false;
  }
}

const char* Value::TypeName() const {
  switch (kind_) {
    case Kind::kUndefined: return "undefined";
    case Kind::kNone: return "None";
    case Kind::kBool: return "bool";
    case Kind::kInt: return "int";
    case Kind::kFloat: return "float";
    case Kind::kString: return "str";
    case Kind::kList: return tuple_ ? "tuple" : "list";
    case Kind::kDict: return dict_->is_namespace ? "namespace" : "dict";
    case Kind::kFunction: return "function";
  }
  return "?";
}

const Value& CallArgs::Get(size_t index, std::string_view name, const Value& fallback) const {
  if (index < positional.size()) return positional[index];
  for (const auto& [k, v] : keyword) {
    if (k == name) return v;
  }
  return fallback;
}

void CallArgs::Check(size_t max_positional, std::initializer_list<std::string_view> names) const {
  if (positional.size() > max_positional) {
    throw JinjaError(callee + " takes at most " + std::to_string(max_positional) + " positional argument(s), " +
                     std::to_string(positional.size()) + " given");
  }
  for (const auto& [k, v] : keyword) {
    bool known = false;
    for (std::string_view n : names) known = known || n == k;
    if (!known) throw JinjaError(callee + " has no argument '" + k + "'");
  }
}

}  // namespace fpgaserve::jinja
