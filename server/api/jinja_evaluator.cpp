#include "server/api/jinja_evaluator.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include "server/api/jinja_strings.h"

namespace fpgaserve::jinja {
namespace {

enum class Flow { kNormal, kBreak, kContinue };

std::string BinaryTypeError(const std::string& op, const Value& a, const Value& b) {
  return "unsupported operand type(s) for " + op + ": '" + a.TypeName() + "' and '" + b.TypeName() + "'";
}

// Raised by an undefined operand of arithmetic, with jinja2's message.
void RequireDefined(const Value& v) {
  if (v.is_undefined()) throw JinjaError(v.name().empty() ? "undefined value used in an expression" : v.name());
}

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

class Evaluator {
 public:
  Evaluator(Scope globals, const EvalBudget& budget, TaintedText* out) : budget_(budget), out_(out) {
    scopes_.push_back(std::move(globals));
    scopes_.emplace_back();  // the template's own top-level assignments
  }

  void Run(const Node& body) { Exec(body); }

 private:
  void Step(const Node& node) {
    if (++steps_ > budget_.max_steps) {
      throw JinjaError("the template ran more than " + std::to_string(budget_.max_steps) + " steps", node.pos);
    }
  }

  void Emit(const TaintedText& text, const Node& node) {
    if (out_->text.size() + text.text.size() > budget_.max_output_bytes) {
      throw JinjaError("the template's output exceeds the limit of " + std::to_string(budget_.max_output_bytes) +
                           " bytes",
                       node.pos);
    }
    out_->Append(text);
  }

  Value Lookup(const std::string& name) const {
    for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
      const auto found = it->find(name);
      if (found != it->end()) return found->second;
    }
    return Value::Undefined("'" + name + "' is undefined");
  }

  // ---- Statements.

  Flow Exec(const Node& node) {
    try {
      return ExecInner(node);
    } catch (JinjaError& e) {
      e.SetPosIfUnknown(node.pos);
      throw;
    }
  }

  Flow ExecBody(const Node& body) {
    for (const NodePtr& s : body.kids) {
      const Flow f = Exec(*s);
      if (f != Flow::kNormal) return f;
    }
    return Flow::kNormal;
  }

  Flow ExecInner(const Node& node) {
    Step(node);
    switch (node.kind) {
      case NodeKind::kBody: return ExecBody(node);
      case NodeKind::kData: {
        TaintedText t;
        t.text = node.name;
        Emit(t, node);
        return Flow::kNormal;
      }
      case NodeKind::kPrint: Emit(Eval(*node.kids[0]).ToText(), node); return Flow::kNormal;
      case NodeKind::kIf: {
        size_t i = 0;
        for (; i + 1 < node.kids.size(); i += 2) {
          if (Eval(*node.kids[i]).Truthy()) return ExecBody(*node.kids[i + 1]);
        }
        if (i < node.kids.size()) return ExecBody(*node.kids[i]);
        return Flow::kNormal;
      }
      case NodeKind::kFor: return ExecFor(node);
      case NodeKind::kSet: ExecSet(node); return Flow::kNormal;
      case NodeKind::kBreak: return Flow::kBreak;
      case NodeKind::kContinue: return Flow::kContinue;
      default: throw JinjaError("internal: an expression where a statement was expected", node.pos);
    }
  }

  void Bind(Scope& scope, const std::vector<std::string>& targets, const Value& item) {
    if (targets.size() == 1) {
      scope[targets[0]] = item;
      return;
    }
    const ValueList parts = Iterate(item);
    if (parts.size() != targets.size()) {
      throw JinjaError("cannot unpack " + std::to_string(parts.size()) + " values into " +
                       std::to_string(targets.size()) + " loop variables");
    }
    for (size_t i = 0; i < targets.size(); ++i) scope[targets[i]] = parts[i];
  }

  Flow ExecFor(const Node& node) {
    ValueList items = Iterate(Eval(*node.kids[0]));
    if (const Node* filter = node.kids[1].get()) {
      ValueList kept;
      for (Value& item : items) {
        Step(node);
        scopes_.emplace_back();
        Bind(scopes_.back(), node.ops, item);
        const bool keep = Eval(*filter).Truthy();
        scopes_.pop_back();
        if (keep) kept.push_back(std::move(item));
      }
      items = std::move(kept);
    }
    const auto n = static_cast<int64_t>(items.size());
    // jinja2 runs the else block unless some iteration ran its body to the end: an iteration left by
    // `continue` or `break` does not count (its generated code clears the flag at the end of the body).
    bool completed_one = false;
    for (int64_t i = 0; i < n; ++i) {
      Step(node);
      // The loop object, built directly (no per-key lookups: this runs once per iteration).
      auto loop = std::make_shared<ValueDict>();
      loop->items.reserve(11);
      loop->items.emplace_back("index0", Value::Int(i));
      loop->items.emplace_back("index", Value::Int(i + 1));
      loop->items.emplace_back("revindex0", Value::Int(n - i - 1));
      loop->items.emplace_back("revindex", Value::Int(n - i));
      loop->items.emplace_back("first", Value::Bool(i == 0));
      loop->items.emplace_back("last", Value::Bool(i == n - 1));
      loop->items.emplace_back("length", Value::Int(n));
      loop->items.emplace_back("depth", Value::Int(1));
      loop->items.emplace_back("depth0", Value::Int(0));
      if (i > 0) loop->items.emplace_back("previtem", items[static_cast<size_t>(i - 1)]);
      if (i + 1 < n) loop->items.emplace_back("nextitem", items[static_cast<size_t>(i + 1)]);
      scopes_.emplace_back();
      scopes_.back()["loop"] = Value::Dict(std::move(loop));
      Bind(scopes_.back(), node.ops, items[static_cast<size_t>(i)]);
      const Flow f = ExecBody(*node.kids[2]);
      scopes_.pop_back();
      if (f == Flow::kBreak) break;
      if (f == Flow::kNormal) completed_one = true;
    }
    if (!completed_one && node.kids[3]) {
      // The else block belongs to the loop's scope too: what it sets is gone after the loop.
      scopes_.emplace_back();
      const Flow f = ExecBody(*node.kids[3]);
      scopes_.pop_back();
      return f;
    }
    return Flow::kNormal;
  }

  void ExecSet(const Node& node) {
    Value v;
    if (node.negate) {
      // Block set: the body's output becomes the value.
      TaintedText captured;
      TaintedText* saved = out_;
      out_ = &captured;
      try {
        ExecBody(*node.kids[0]);
      } catch (...) {
        out_ = saved;
        throw;
      }
      out_ = saved;
      v = Value::Text(std::move(captured));
    } else {
      v = Eval(*node.kids[0]);
    }
    if (node.attr.empty()) {
      scopes_.back()[node.name] = std::move(v);
      return;
    }
    const Value target = Lookup(node.name);
    if (!target.is_dict() || !target.dict()->is_namespace) {
      throw JinjaError("cannot assign attribute on non-namespace object '" + node.name + "'", node.pos);
    }
    target.dict()->Set(node.attr, std::move(v));
  }

  // ---- Expressions.

  Value Eval(const Node& node) {
    try {
      return EvalInner(node);
    } catch (JinjaError& e) {
      e.SetPosIfUnknown(node.pos);
      throw;
    }
  }

  Value EvalInner(const Node& node) {
    Step(node);
    switch (node.kind) {
      case NodeKind::kLiteral: return node.value;
      case NodeKind::kName: return Lookup(node.name);
      case NodeKind::kList: {
        ValueList items;
        for (const NodePtr& k : node.kids) items.push_back(Eval(*k));
        return node.negate ? Value::Tuple(std::move(items)) : Value::List(std::move(items));
      }
      case NodeKind::kDict: {
        auto dict = std::make_shared<ValueDict>();
        for (size_t i = 0; i + 1 < node.kids.size(); i += 2) {
          const Value key = Eval(*node.kids[i]);
          if (!key.is_string()) throw JinjaError("only string keys are supported in dict literals", node.kids[i]->pos);
          // Keys are stored as plain strings: one made of user text marks all keys as user text.
          if (key.text().HasUser()) dict->user_keys = true;
          dict->Set(key.str(), Eval(*node.kids[i + 1]));
        }
        return Value::Dict(std::move(dict));
      }
      case NodeKind::kGetattr: return GetAttr(Eval(*node.kids[0]), node.name);
      case NodeKind::kGetitem: {
        const Value obj = Eval(*node.kids[0]);
        return GetItem(obj, Eval(*node.kids[1]));
      }
      case NodeKind::kSlice: return EvalSlice(node);
      case NodeKind::kUnary: {
        const Value v = Eval(*node.kids[0]);
        if (node.name == "not") return Value::Bool(!v.Truthy());
        RequireDefined(v);
        if (v.kind() == Value::Kind::kInt) {
          if (node.name == "+") return v;
          if (v.int_value() == std::numeric_limits<int64_t>::min()) throw JinjaError("integer overflow");
          return Value::Int(-v.int_value());
        }
        if (v.kind() == Value::Kind::kFloat) return Value::Float(node.name == "-" ? -v.float_value() : v.float_value());
        throw JinjaError("bad operand type for unary " + node.name + ": '" + v.TypeName() + "'");
      }
      case NodeKind::kBinary: return EvalBinary(node);
      case NodeKind::kCompare: {
        Value left = Eval(*node.kids[0]);
        for (size_t i = 0; i < node.ops.size(); ++i) {
          Value right = Eval(*node.kids[i + 1]);
          const std::string& op = node.ops[i];
          bool r;
          if (op == "==") r = left.Equals(right);
          else if (op == "!=") r = !left.Equals(right);
          else if (op == "in") r = Contains(right, left);
          else if (op == "notin") r = !Contains(right, left);
          else r = Less(left, right, op);
          if (!r) return Value::Bool(false);
          left = std::move(right);
        }
        return Value::Bool(true);
      }
      case NodeKind::kCond:
        if (Eval(*node.kids[1]).Truthy()) return Eval(*node.kids[0]);
        return node.kids[2] ? Eval(*node.kids[2]) : Value::Undefined();
      case NodeKind::kFilter: {
        const Value subject = Eval(*node.kids[0]);
        CallArgs args = EvalArgs(node);
        return ApplyFilter(node.name, subject, args, budget_.values);
      }
      case NodeKind::kTest: {
        const Value subject = Eval(*node.kids[0]);
        CallArgs args = EvalArgs(node);
        return Value::Bool(ApplyTest(node.name, subject, args) != node.negate);
      }
      case NodeKind::kCall: return EvalCall(node);
      default: throw JinjaError("internal: a statement where an expression was expected", node.pos);
    }
  }

  CallArgs EvalArgs(const Node& node) {
    CallArgs args;
    for (size_t i = 0; i < node.args.size(); ++i) {
      Value v = Eval(*node.args[i]);
      if (node.arg_names[i].empty()) {
        args.positional.push_back(std::move(v));
      } else {
        args.keyword.emplace_back(node.arg_names[i], std::move(v));
      }
    }
    return args;
  }

  Value EvalCall(const Node& node) {
    const Node& callee = *node.kids[0];
    if (callee.kind == NodeKind::kGetattr) {
      const Value obj = Eval(*callee.kids[0]);
      CallArgs args = EvalArgs(node);
      bool found = false;
      Value r = CallMethod(obj, callee.name, args, budget_.values, &found);
      if (found) return r;
      const Value fn = GetAttr(obj, callee.name);
      if (fn.kind() == Value::Kind::kFunction) return fn.function()(args);
      throw JinjaError("'" + std::string(obj.TypeName()) + " object' has no method '" + callee.name + "'");
    }
    const Value fn = Eval(callee);
    CallArgs args = EvalArgs(node);
    if (fn.kind() != Value::Kind::kFunction) {
      if (fn.is_undefined()) RequireDefined(fn);
      throw JinjaError(std::string("'") + fn.TypeName() + "' object is not callable");
    }
    args.callee = fn.name() + "()";
    return fn.function()(args);
  }

  Value EvalSlice(const Node& node) {
    const Value obj = Eval(*node.kids[0]);
    RequireDefined(obj);
    auto part = [&](int i) -> std::optional<int64_t> {
      if (!node.kids[static_cast<size_t>(i)]) return std::nullopt;
      const Value v = Eval(*node.kids[static_cast<size_t>(i)]);
      if (v.is_none()) return std::nullopt;
      if (v.kind() != Value::Kind::kInt) throw JinjaError("slice indices must be integers or None");
      return v.int_value();
    };
    const std::optional<int64_t> start = part(1), stop = part(2), step_opt = part(3);
    const int64_t step = step_opt.value_or(1);
    if (step == 0) throw JinjaError("slice step cannot be zero");
    if (!obj.is_list() && !obj.is_string()) {
      throw JinjaError(std::string("'") + obj.TypeName() + "' object is not subscriptable");
    }
    const int64_t n = Length(obj);
    // Python's slice index adjustment.
    auto clamp = [&](std::optional<int64_t> v, int64_t dflt) {
      if (!v) return dflt;
      int64_t x = *v;
      if (x < 0) x += n;
      if (step > 0) return std::clamp<int64_t>(x, 0, n);
      return std::clamp<int64_t>(x, -1, n - 1);
    };
    const int64_t b = clamp(start, step > 0 ? 0 : n - 1);
    const int64_t e = clamp(stop, step > 0 ? n : -1);
    std::vector<int64_t> idx;
    for (int64_t i = b; step > 0 ? i < e : i > e; i += step) idx.push_back(i);
    if (obj.is_list()) {
      ValueList out;
      for (int64_t i : idx) out.push_back(obj.list()[static_cast<size_t>(i)]);
      return Value::List(std::move(out));
    }
    const std::vector<size_t> offs = CodePointOffsets(obj.str());
    std::string out;
    for (int64_t i : idx) {
      const auto u = static_cast<size_t>(i);
      out += obj.str().substr(offs[u], offs[u + 1] - offs[u]);
    }
    return obj.text().HasUser() ? Value::UserStr(out) : Value::Str(out);
  }

  Value EvalBinary(const Node& node) {
    const std::string& op = node.name;
    if (op == "and") {
      Value a = Eval(*node.kids[0]);
      return a.Truthy() ? Eval(*node.kids[1]) : a;
    }
    if (op == "or") {
      Value a = Eval(*node.kids[0]);
      return a.Truthy() ? a : Eval(*node.kids[1]);
    }
    const Value a = Eval(*node.kids[0]);
    const Value b = Eval(*node.kids[1]);
    if (op == "~") {
      TaintedText t = a.ToText();
      t.Append(b.ToText());
      CheckTextSize(budget_.values, t.text.size(), "'~'");
      return Value::Text(std::move(t));
    }
    RequireDefined(a);
    RequireDefined(b);
    using K = Value::Kind;
    const bool ints = (a.kind() == K::kInt || a.kind() == K::kBool) && (b.kind() == K::kInt || b.kind() == K::kBool);
    const bool nums = (a.is_number() || a.kind() == K::kBool) && (b.is_number() || b.kind() == K::kBool);
    auto as_int = [](const Value& v) { return v.kind() == K::kBool ? (v.bool_value() ? 1 : 0) : v.int_value(); };
    auto as_double = [](const Value& v) {
      return v.kind() == K::kBool ? (v.bool_value() ? 1.0 : 0.0) : v.float_value();
    };
    if (op == "+") {
      if (a.is_string() && b.is_string()) {
        CheckTextSize(budget_.values, a.str().size() + b.str().size(), "'+'");
        TaintedText t = a.text();
        t.Append(b.text());
        return Value::Text(std::move(t));
      }
      if (a.is_list() && b.is_list()) {
        if (a.is_tuple() != b.is_tuple()) throw JinjaError(BinaryTypeError(op, a, b));  // Python: list + tuple
        CheckItemCount(budget_.values, a.list().size() + b.list().size(), "'+'");
        ValueList items = a.list();
        items.insert(items.end(), b.list().begin(), b.list().end());
        return a.is_tuple() ? Value::Tuple(std::move(items)) : Value::List(std::move(items));
      }
    }
    if (op == "*") {
      // Repetition: str * int, list * int (either order).
      const Value* seq = a.is_string() || a.is_list() ? &a : b.is_string() || b.is_list() ? &b : nullptr;
      const Value* count = seq == &a ? &b : &a;
      if (seq != nullptr && (count->kind() == K::kInt || count->kind() == K::kBool)) {
        const int64_t times = std::max<int64_t>(0, as_int(*count));
        // The size before building (capped so the product cannot overflow; anything that large fails anyway).
        const auto capped = static_cast<size_t>(std::min<int64_t>(times, 1 << 30));
        if (seq->is_string()) {
          CheckTextSize(budget_.values, seq->str().size() * capped, "'*'");
          std::string out;
          for (int64_t i = 0; i < times; ++i) out += seq->str();
          return seq->text().HasUser() ? Value::UserStr(out) : Value::Str(out);
        }
        CheckItemCount(budget_.values, seq->list().size() * capped, "'*'");
        ValueList items;
        for (int64_t i = 0; i < times; ++i) items.insert(items.end(), seq->list().begin(), seq->list().end());
        return seq->is_tuple() ? Value::Tuple(std::move(items)) : Value::List(std::move(items));
      }
    }
    if (!nums) throw JinjaError(BinaryTypeError(op, a, b));
    if (ints && op != "/") {
      const int64_t x = as_int(a), y = as_int(b);
      int64_t r = 0;
      if (op == "+" && !__builtin_add_overflow(x, y, &r)) return Value::Int(r);
      if (op == "-" && !__builtin_sub_overflow(x, y, &r)) return Value::Int(r);
      if (op == "*" && !__builtin_mul_overflow(x, y, &r)) return Value::Int(r);
      if (op == "//" || op == "%") {
        if (y == 0) throw JinjaError("integer division or modulo by zero");
        if (x == std::numeric_limits<int64_t>::min() && y == -1) throw JinjaError("integer overflow");
        const int64_t q = FloorDiv(x, y);
        return Value::Int(op == "//" ? q : x - q * y);
      }
      if (op == "**") {
        if (y < 0) return Value::Float(std::pow(static_cast<double>(x), static_cast<double>(y)));
        r = 1;
        for (int64_t i = 0; i < y; ++i) {
          if (__builtin_mul_overflow(r, x, &r)) throw JinjaError("integer overflow in '**'");
          if (r == 0 || r == 1) break;  // 0**n and 1**n stay put
        }
        if (x == -1 && y % 2 == 1) r = -1;
        return Value::Int(r);
      }
      throw JinjaError("integer overflow in '" + op + "'");
    }
    const double x = as_double(a), y = as_double(b);
    if (op == "+") return Value::Float(x + y);
    if (op == "-") return Value::Float(x - y);
    if (op == "*") return Value::Float(x * y);
    if (op == "**") return Value::Float(std::pow(x, y));
    if (y == 0) throw JinjaError(op == "/" ? "division by zero" : "float divmod by zero");
    if (op == "/") return Value::Float(x / y);
    const double q = std::floor(x / y);
    if (op == "//") return Value::Float(q);
    return Value::Float(x - q * y);
  }

  const EvalBudget& budget_;
  TaintedText* out_;
  std::vector<Scope> scopes_;
  int64_t steps_ = 0;
};

}  // namespace

void Evaluate(const Node& body, Scope globals, const EvalBudget& budget, TaintedText* out) {
  Evaluator(std::move(globals), budget, out).Run(body);
}

}  // namespace fpgaserve::jinja
