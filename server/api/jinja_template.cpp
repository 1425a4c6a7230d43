#include "server/api/jinja_template.h"

#include <ctime>

#include "server/api/jinja_error.h"
#include "server/api/jinja_evaluator.h"
#include "server/api/jinja_lexer.h"
#include "server/api/jinja_parser.h"

namespace fpgaserve {
namespace {

using jinja::CallArgs;
using jinja::JinjaError;
using jinja::Value;

Status ErrorStatus(const JinjaError& e) {
  const jinja::SourcePos pos = e.pos();
  std::string where = "chat template";
  if (pos.line > 0) where += " " + std::to_string(pos.line) + ":" + std::to_string(pos.column);
  return Status::InvalidArgument(where + ": " + e.what());
}

Value Range(CallArgs& args, const jinja::ValueLimits& limits) {
  args.Check(3, {});
  if (args.positional.empty()) throw JinjaError("range() expects at least one argument");
  std::vector<int64_t> n;
  for (const Value& v : args.positional) {
    if (v.kind() != Value::Kind::kInt) throw JinjaError("range() expects integers, not " + std::string(v.TypeName()));
    n.push_back(v.int_value());
  }
  const int64_t start = n.size() == 1 ? 0 : n[0];
  const int64_t stop = n.size() == 1 ? n[0] : n[1];
  const int64_t step = n.size() == 3 ? n[2] : 1;
  if (step == 0) throw JinjaError("range() step must not be zero");
  // The count first, in unsigned arithmetic (no overflow), so a huge range is refused before it is built.
  uint64_t count = 0;
  if (step > 0 && stop > start) {
    count = (static_cast<uint64_t>(stop) - static_cast<uint64_t>(start) - 1) / static_cast<uint64_t>(step) + 1;
  } else if (step < 0 && start > stop) {
    const uint64_t abs_step = static_cast<uint64_t>(-(step + 1)) + 1;
    count = (static_cast<uint64_t>(start) - static_cast<uint64_t>(stop) - 1) / abs_step + 1;
  }
  if (count > limits.max_items) jinja::CheckItemCount(limits, limits.max_items + 1, "range()");
  jinja::ValueList items;
  int64_t v = start;
  for (uint64_t i = 0; i < count; ++i, v += (i < count ? step : 0)) items.push_back(Value::Int(v));
  return Value::List(std::move(items));
}

Value Namespace(CallArgs& args) {
  auto dict = std::make_shared<jinja::ValueDict>();
  dict->is_namespace = true;
  for (const Value& v : args.positional) {
    if (!v.is_dict()) throw JinjaError("namespace() takes a mapping or keyword arguments");
    for (const auto& [k, item] : v.dict()->items) dict->Set(k, item);
  }
  for (const auto& [k, v] : args.keyword) dict->Set(k, v);
  return Value::Dict(std::move(dict));
}

Value StrftimeNow(CallArgs& args, int64_t now) {
  args.Check(1, {});
  const Value& fmt = args.Get(0, "", Value());
  if (!fmt.is_string()) throw JinjaError("strftime_now() expects a format string");
  if (fmt.str().size() > 256) throw JinjaError("strftime_now(): format longer than 256 bytes");
  const std::time_t t = static_cast<std::time_t>(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[1024];
  const size_t n = fmt.str().empty() ? 0 : std::strftime(buf, sizeof buf, fmt.str().c_str(), &tm);
  return Value::Str(std::string(buf, n));
}

}  // namespace

Result<JinjaTemplate> JinjaTemplate::Parse(std::string_view source, const JinjaOptions& options) {
  try {
    const std::vector<jinja::Token> tokens = jinja::Tokenize(source);
    std::shared_ptr<const jinja::Node> root = jinja::Parse(tokens, options.max_depth);
    return JinjaTemplate(std::move(root), options);
  } catch (const JinjaError& e) {
    return ErrorStatus(e);
  } catch (const std::bad_alloc&) {
    return Status::InvalidArgument("chat template: out of memory while parsing");
  }
}

Result<jinja::TaintedText> JinjaTemplate::Render(const JinjaRenderInput& input) const {
  jinja::EvalBudget budget;
  budget.values.max_text_bytes = options_.max_output_bytes;
  budget.values.max_items = options_.max_items;
  budget.max_output_bytes = options_.max_output_bytes;
  budget.max_steps = options_.max_steps;
  jinja::TaintedText out;
  try {
    jinja::Scope globals;
    if (!input.user_variables.is_object()) throw JinjaError("the template's variables must be a JSON object");
    for (const auto& [name, value] : input.user_variables.items()) {
      globals[name] = Value::FromJson(value, options_.max_depth);
    }
    for (const auto& [name, value] : input.trusted_variables) globals[name] = Value::Str(value);
    const jinja::ValueLimits limits = budget.values;
    const int64_t now = input.now_unix_seconds;
    globals["range"] = Value::Function("range", [limits](CallArgs& a) { return Range(a, limits); });
    globals["namespace"] = Value::Function("namespace", Namespace);
    globals["raise_exception"] = Value::Function("raise_exception", [](CallArgs& a) -> Value {
      throw jinja::TemplateRaisedError(a.positional.empty() ? std::string("raise_exception() was called")
                                                            : a.positional[0].ToText().text);
    });
    globals["strftime_now"] = Value::Function("strftime_now", [now](CallArgs& a) { return StrftimeNow(a, now); });
    jinja::Evaluate(*root_, std::move(globals), budget, &out);
  } catch (const jinja::TemplateRaisedError& e) {
    return Status::InvalidArgument(e.what());
  } catch (const JinjaError& e) {
    return ErrorStatus(e);
  } catch (const std::bad_alloc&) {
    return Status::InvalidArgument("chat template: out of memory while rendering");
  }
  return out;
}

}  // namespace fpgaserve
