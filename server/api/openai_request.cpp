#include "server/api/openai_request.h"

#include <climits>
#include <cmath>
#include <cstdlib>

#include "base/parse_number.h"

namespace fpgaserve {
namespace {

using nlohmann::json;

// The field `key` of `obj`, or null when absent or JSON null (OpenAI treats both as "not given").
const json* Field(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

Status Bad(std::string* param, const std::string& name, const std::string& why) {
  *param = name;
  return Status::InvalidArgument(name + " " + why);
}

// A number field into *out (unchanged when absent).
Status ReadFloat(const json& obj, const char* key, float* out, std::string* param) {
  const json* v = Field(obj, key);
  if (v == nullptr) return Status::Ok();
  if (!v->is_number()) return Bad(param, key, "must be a number");
  *out = v->get<float>();
  return Status::Ok();
}

// An integer (or integral float) within [lo, hi].
Status ReadIntValue(const json& v, const std::string& name, int64_t lo, int64_t hi, int64_t* out, std::string* param) {
  if (v.is_number_integer()) {
    if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
      return Bad(param, name, "is too large");
    }
    *out = v.get<int64_t>();
  } else if (v.is_number_float()) {
    const double d = v.get<double>();
    if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) > 9e18) {
      return Bad(param, name, "must be an integer");
    }
    *out = static_cast<int64_t>(d);
  } else {
    return Bad(param, name, "must be an integer");
  }
  if (*out < lo || *out > hi) {
    return Bad(param, name,
               "must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " + std::to_string(*out));
  }
  return Status::Ok();
}

Status ReadBool(const json& obj, const char* key, bool* out, std::string* param) {
  const json* v = Field(obj, key);
  if (v == nullptr) return Status::Ok();
  if (!v->is_boolean()) return Bad(param, key, "must be a boolean");
  *out = v->get<bool>();
  return Status::Ok();
}

Status ReadPrompt(const json& v, std::vector<PromptInput>* prompts, std::string* param) {
  auto token_list = [&](const json& arr, const std::string& name, PromptInput* p) -> Status {
    p->is_tokens = true;
    for (const json& t : arr) {
      int64_t id = 0;
      if (Status st = ReadIntValue(t, name, 0, INT32_MAX, &id, param); !st.ok()) return st;
      p->tokens.push_back(id);
    }
    if (p->tokens.empty()) return Bad(param, name, "must not be an empty list of tokens");
    return Status::Ok();
  };
  if (v.is_string()) {
    prompts->push_back({false, v.get<std::string>(), {}});
    return Status::Ok();
  }
  if (!v.is_array() || v.empty()) {
    return Bad(param, "prompt", "must be a string, an array of strings or an array of token ids");
  }
  if (v[0].is_number()) {  // one prompt of token ids
    PromptInput p;
    if (Status st = token_list(v, "prompt", &p); !st.ok()) return st;
    prompts->push_back(std::move(p));
    return Status::Ok();
  }
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string name = "prompt[" + std::to_string(i) + "]";
    if (v[i].is_string()) {
      prompts->push_back({false, v[i].get<std::string>(), {}});
    } else if (v[i].is_array()) {
      PromptInput p;
      if (Status st = token_list(v[i], name, &p); !st.ok()) return st;
      prompts->push_back(std::move(p));
    } else {
      return Bad(param, name, "must be a string or an array of token ids");
    }
  }
  return Status::Ok();
}

Status ReadMessages(const json& body, std::vector<ChatMessage>* messages, std::string* param) {
  const json* v = Field(body, "messages");
  if (v == nullptr) return Bad(param, "messages", "is required");
  if (!v->is_array() || v->empty()) return Bad(param, "messages", "must be a non-empty array");
  for (size_t i = 0; i < v->size(); ++i) {
    const json& m = (*v)[i];
    const std::string name = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) return Bad(param, name, "must be an object");
    const json* role = Field(m, "role");
    if (role == nullptr || !role->is_string()) return Bad(param, name + ".role", "must be a string");
    ChatMessage msg{role->get<std::string>(), ""};
    if (msg.role == "developer") msg.role = "system";  // OpenAI's newer name for the system role
    if (msg.role != "system" && msg.role != "user" && msg.role != "assistant") {
      return Bad(param, name + ".role", "must be system, developer, user or assistant, not '" + msg.role + "'");
    }
    const json* content = Field(m, "content");
    if (content == nullptr) {
      if (msg.role != "assistant") return Bad(param, name + ".content", "is required");
    } else if (content->is_string()) {
      msg.content = content->get<std::string>();
    } else if (content->is_array()) {
      for (size_t j = 0; j < content->size(); ++j) {
        const json& part = (*content)[j];
        const std::string pname = name + ".content[" + std::to_string(j) + "]";
        const json* type = part.is_object() ? Field(part, "type") : nullptr;
        if (type == nullptr || !type->is_string() || *type != "text") {
          return Bad(param, pname + ".type", "must be 'text' (only text parts are supported)");
        }
        const json* text = Field(part, "text");
        if (text == nullptr || !text->is_string()) return Bad(param, pname + ".text", "must be a string");
        msg.content += text->get<std::string>();
      }
    } else {
      return Bad(param, name + ".content", "must be a string or an array of text parts");
    }
    messages->push_back(std::move(msg));
  }
  return Status::Ok();
}

Status ReadStop(const json& body, std::vector<std::string>* stop, std::string* param) {
  const json* v = Field(body, "stop");
  if (v == nullptr) return Status::Ok();
  if (v->is_string()) {
    if (!v->get<std::string>().empty()) stop->push_back(v->get<std::string>());
    return Status::Ok();
  }
  if (!v->is_array()) return Bad(param, "stop", "must be a string or an array of strings");
  if (v->size() > 4) return Bad(param, "stop", "must hold at most 4 strings");
  for (const json& s : *v) {
    if (!s.is_string() || s.get<std::string>().empty()) {
      return Bad(param, "stop", "must hold non-empty strings");
    }
    stop->push_back(s.get<std::string>());
  }
  return Status::Ok();
}

Status ReadSampling(const json& body, SamplingParams* s, std::string* param) {
  for (auto [key, field] : {std::pair{"temperature", &s->temperature},
                            {"top_p", &s->top_p},
                            {"min_p", &s->min_p},
                            {"presence_penalty", &s->presence_penalty},
                            {"frequency_penalty", &s->frequency_penalty},
                            {"repetition_penalty", &s->repetition_penalty}}) {
    if (Status st = ReadFloat(body, key, field, param); !st.ok()) return st;
  }
  if (const json* v = Field(body, "top_k")) {
    int64_t k = 0;
    if (Status st = ReadIntValue(*v, "top_k", -1, INT32_MAX, &k, param); !st.ok()) return st;
    s->top_k = k < 0 ? 0 : static_cast<int>(k);  // vLLM spells "off" -1
  }
  if (const json* v = Field(body, "seed")) {
    int64_t seed = 0;
    if (Status st = ReadIntValue(*v, "seed", INT64_MIN, INT64_MAX, &seed, param); !st.ok()) return st;
    s->seed = static_cast<uint64_t>(seed);
  }
  if (const json* v = Field(body, "logit_bias")) {
    if (!v->is_object()) return Bad(param, "logit_bias", "must be an object of token id -> bias");
    for (const auto& [key, value] : v->items()) {
      const std::optional<int64_t> id = ParseInt64(key);
      if (!id || *id < 0 || *id > INT32_MAX) {
        return Bad(param, "logit_bias", "keys must be token ids, not '" + key + "'");
      }
      if (!value.is_number()) return Bad(param, "logit_bias", "values must be numbers");
      s->logit_bias[static_cast<int32_t>(*id)] = value.get<float>();
    }
  }
  return Status::Ok();
}

}  // namespace

Result<OpenAiRequest> ParseOpenAiRequest(ApiKind kind, const std::string& body, const RequestLimits& limits,
                                         std::string* param) {
  param->clear();
  const json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Status::InvalidArgument("The request body is not valid JSON.");
  if (!doc.is_object()) return Status::InvalidArgument("The request body must be a JSON object.");
  OpenAiRequest r;
  r.kind = kind;
  if (const json* v = Field(doc, "model")) {
    if (!v->is_string()) return Bad(param, "model", "must be a string");
    r.model = v->get<std::string>();
  }
  if (kind == ApiKind::kCompletion) {
    const json* p = Field(doc, "prompt");
    if (p == nullptr) return Bad(param, "prompt", "is required");
    if (Status st = ReadPrompt(*p, &r.prompts, param); !st.ok()) return st;
  } else {
    if (Status st = ReadMessages(doc, &r.messages, param); !st.ok()) return st;
  }
  for (const char* key : {"max_tokens", "max_completion_tokens"}) {
    if (const json* v = Field(doc, key)) {
      int64_t m = 0;
      if (Status st = ReadIntValue(*v, key, 1, INT32_MAX, &m, param); !st.ok()) return st;
      r.max_tokens = static_cast<int>(m);
    }
  }
  if (Status st = ReadSampling(doc, &r.sampling, param); !st.ok()) return st;
  if (Status st = ReadStop(doc, &r.stop, param); !st.ok()) return st;
  if (const json* v = Field(doc, "n")) {
    int64_t n = 0;
    if (Status st = ReadIntValue(*v, "n", 1, limits.max_n, &n, param); !st.ok()) return st;
    r.n = static_cast<int>(n);
  }
  if (kind == ApiKind::kCompletion) {
    if (const json* v = Field(doc, "logprobs")) {
      int64_t lp = 0;
      if (Status st = ReadIntValue(*v, "logprobs", 0, 5, &lp, param); !st.ok()) return st;
      r.legacy_logprobs = static_cast<int>(lp);
      r.sampling.logprobs = true;
      r.sampling.top_logprobs = r.legacy_logprobs;
    }
    if (Status st = ReadBool(doc, "echo", &r.echo, param); !st.ok()) return st;
    if (r.echo && r.legacy_logprobs >= 0) {
      return Bad(param, "echo", "cannot be combined with logprobs (prompt logprobs are not computed)");
    }
  } else {
    if (Status st = ReadBool(doc, "logprobs", &r.chat_logprobs, param); !st.ok()) return st;
    if (const json* v = Field(doc, "top_logprobs")) {
      int64_t top = 0;
      if (Status st = ReadIntValue(*v, "top_logprobs", 0, 20, &top, param); !st.ok()) return st;
      if (!r.chat_logprobs) return Bad(param, "top_logprobs", "requires logprobs to be true");
      r.sampling.top_logprobs = static_cast<int>(top);
    }
    r.sampling.logprobs = r.chat_logprobs;
  }
  if (Status st = ReadBool(doc, "stream", &r.stream, param); !st.ok()) return st;
  if (const json* v = Field(doc, "stream_options")) {
    if (!v->is_object()) return Bad(param, "stream_options", "must be an object");
    if (Status st = ReadBool(*v, "include_usage", &r.include_usage, param); !st.ok()) {
      *param = "stream_options.include_usage";
      return st;
    }
  }
  if (const json* v = Field(doc, "user")) {
    if (!v->is_string()) return Bad(param, "user", "must be a string");
    r.user = v->get<std::string>();
  }
  if (Status st = ReadBool(doc, "ignore_eos", &r.ignore_eos, param); !st.ok()) return st;
  // Ranges of the sampling parameters; logit_bias keys are checked against the vocabulary later.
  if (Status st = ValidateSamplingParams(r.sampling, INT32_MAX, param); !st.ok()) return st;
  return r;
}

}  // namespace fpgaserve
