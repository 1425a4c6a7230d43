// Jinja values: what a template expression evaluates to, with Python's semantics where a chat template can
// tell the difference (printing, truthiness, equality, json), because the reference renderer is Python's
// jinja2 and a prompt must come out byte for byte as the model saw it in training.
//
// Strings remember which of their bytes came from the caller's data (message contents, tools) rather than
// from the template's own text: `user` lists those byte ranges. Concatenation keeps the ranges exact; any
// other operation on a string that holds user bytes (strip, replace, slicing, ...) marks the whole result as
// user text. So a special-token spelling such as "<|eot_id|>" can later be trusted only where every byte of
// it was written by the template author (jinja_chat.h).
//
// Lists and dicts are shared by reference, as in Python (a namespace() changed inside a loop is seen after
// it). Dict keys are strings only; insertion order is kept (Python dicts keep it, and tojson prints it).
//
// Errors: operations that jinja2 would refuse throw JinjaError (jinja_error.h); the template boundary
// (jinja_template.h) turns it into a Status.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace fpgaserve::jinja {

// A byte range [begin, end) of a string's text that came from user data.
struct TextSpan {
  size_t begin = 0;
  size_t end = 0;
};

// A string and the ranges of it that came from user data (sorted, disjoint, non-empty, never adjacent).
struct TaintedText {
  std::string text;
  std::vector<TextSpan> user;

  // Appends `other`, shifting its ranges.
  void Append(const TaintedText& other);
  void Append(std::string_view trusted) { text.append(trusted); }
  bool HasUser() const { return !user.empty(); }
};

class Value;
using ValueList = std::vector<Value>;

struct ValueDict {
  std::vector<std::pair<std::string, Value>> items;  // insertion order
  bool is_namespace = false;  // namespace(): the one kind of object `set ns.attr = ...` may change
  bool user_keys = false;     // the keys came from user data (iterating yields user text)

  const Value* Find(std::string_view key) const;
  void Set(const std::string& key, Value value);
};

struct CallArgs;
using NativeFunction = std::function<Value(CallArgs& args)>;

class Value {
 public:
  enum class Kind { kUndefined, kNone, kBool, kInt, kFloat, kString, kList, kDict, kFunction };

  Value() = default;  // undefined
  static Value Undefined(std::string name = "");
  static Value None();
  static Value Bool(bool b);
  static Value Int(int64_t i);
  static Value Float(double d);
  static Value Str(std::string trusted_text);   // template text: no user bytes
  static Value UserStr(std::string user_text);  // caller data: all bytes are user bytes
  static Value Text(TaintedText text);
  static Value List(ValueList items);
  static Value Tuple(ValueList items);  // a list that prints as Python prints a tuple: (1, 2), (1,)
  static Value Dict(std::shared_ptr<ValueDict> dict);
  static Value Function(std::string name, NativeFunction fn);
  // A JSON document (the render context) as values, keys in document order (ordered_json: tojson must
  // print them as the client sent them); every string in it is user text. Throws JinjaError when
  // it nests deeper than `max_depth`.
  static Value FromJson(const nlohmann::ordered_json& json, int max_depth, bool user_text = true);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::kUndefined; }
  bool is_none() const { return kind_ == Kind::kNone; }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_list() const { return kind_ == Kind::kList; }
  bool is_dict() const { return kind_ == Kind::kDict; }
  bool is_number() const { return kind_ == Kind::kInt || kind_ == Kind::kFloat; }
  bool is_tuple() const { return kind_ == Kind::kList && tuple_; }
  // Python can hash it (a dict key, a set member): not a list or dict.
  bool hashable() const { return (kind_ != Kind::kList || tuple_) && kind_ != Kind::kDict; }

  bool bool_value() const { return b_; }
  int64_t int_value() const { return i_; }
  double float_value() const { return kind_ == Kind::kInt ? static_cast<double>(i_) : d_; }
  const TaintedText& text() const { return s_; }
  const std::string& str() const { return s_.text; }
  const ValueList& list() const { return *list_; }
  ValueList& mutable_list() { return *list_; }
  const std::shared_ptr<ValueDict>& dict() const { return dict_; }
  const NativeFunction& function() const { return *fn_; }
  const std::string& name() const { return s_.text; }  // undefined: the missing name; function: its name

  // Python's truthiness (undefined and empty containers are false).
  bool Truthy() const;
  // str(value) as jinja2 prints it: None, True, 1.5, ['a', 1], {'k': 'v'}; undefined prints "".
  // String ranges of user text are kept; other kinds are trusted (digits cannot spell a special token) except
  // containers that hold user text, which are wholly user text.
  TaintedText ToText() const;
  // repr() as Python writes it inside a container ('it\'s' quoted, etc.).
  std::string Repr() const;
  // Python ==, deep for containers (1 == 1.0, undefined == undefined).
  bool Equals(const Value& other) const;
  // JSON as Hugging Face's tojson writes it (json.dumps, ensure_ascii=False, keys in insertion order):
  // indent < 0 gives ", " and ": " separators on one line; indent >= 0 one item per line.
  std::string ToJson(int indent) const;
  // Whether any string inside (recursively) holds user bytes.
  bool HasUserText() const;
  // "string", "list", ... for error messages, as jinja2 names them ("str object", ...).
  const char* TypeName() const;

 private:
  Kind kind_ = Kind::kUndefined;
  bool b_ = false;
  int64_t i_ = 0;
  double d_ = 0;
  TaintedText s_;
  bool tuple_ = false;
  std::shared_ptr<ValueList> list_;
  std::shared_ptr<ValueDict> dict_;
  std::shared_ptr<NativeFunction> fn_;
};

// Arguments of a call: positional, then keyword (in call order).
struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
  std::string callee;  // for messages: "filter 'join'", "strip()"

  // The argument at `index`, or the keyword `name`, or `fallback` (undefined: absent).
  const Value& Get(size_t index, std::string_view name, const Value& fallback) const;
  // Throws when more positional arguments than `max_positional` were given, or a keyword not in `names`.
  void Check(size_t max_positional, std::initializer_list<std::string_view> names) const;
};

// Python's float repr: shortest round-trip digits, "1.0", "1e+20", "1.5e-05", "inf", "nan".
std::string PyFloatRepr(double d);

}  // namespace fpgaserve::jinja
