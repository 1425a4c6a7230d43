#include "server/http/server_config.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "base/parse_number.h"

namespace fpgaserve {
namespace {

using C = ServerConfig;

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) b++;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) e--;
  return std::string(s.substr(b, e - b));
}

std::vector<std::string> SplitList(std::string_view text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string_view::npos) comma = text.size();
    std::string item = Trim(text.substr(start, comma - start));
    if (!item.empty()) out.push_back(std::move(item));
    start = comma + 1;
  }
  return out;
}

// Sets `option` in `config` from text; `source` prefixes the error message ("--port", "FPGASERVE_PORT").
Status SetFromText(ServerConfig& config, const ConfigOption& option, const std::string& text,
                   const std::string& source) {
  const std::string t = Trim(text);
  switch (option.type()) {
    case ConfigType::kString: config.*std::get<std::string C::*>(option.field) = t; return Status::Ok();
    case ConfigType::kInt: {
      const std::optional<int64_t> v = ParseInt64(t);
      if (!v || *v < INT32_MIN || *v > INT32_MAX) {
        return Status::InvalidArgument(source + ": '" + text + "' is not an integer");
      }
      config.*std::get<int C::*>(option.field) = static_cast<int>(*v);
      return Status::Ok();
    }
    case ConfigType::kDouble: {
      const std::optional<double> v = ParseDouble(t);
      if (!v) return Status::InvalidArgument(source + ": '" + text + "' is not a number");
      config.*std::get<double C::*>(option.field) = *v;
      return Status::Ok();
    }
    case ConfigType::kList:
      config.*std::get<std::vector<std::string> C::*>(option.field) = SplitList(t);
      return Status::Ok();
  }
  return Status::Internal("unknown option type");
}

// The file's JSON value must have the option's JSON type; it is then set as text.
Status SetFromJson(ServerConfig& config, const ConfigOption& option, const nlohmann::json& value,
                   const std::string& source) {
  const std::string where = source + ": option '" + std::string(option.key) + "'";
  switch (option.type()) {
    case ConfigType::kString:
      if (!value.is_string()) return Status::InvalidArgument(where + " must be a string");
      return SetFromText(config, option, value.get<std::string>(), where);
    case ConfigType::kInt:
      if (!value.is_number_integer()) return Status::InvalidArgument(where + " must be an integer");
      return SetFromText(config, option, value.dump(), where);
    case ConfigType::kDouble:
      if (!value.is_number()) return Status::InvalidArgument(where + " must be a number");
      return SetFromText(config, option, value.dump(), where);
    case ConfigType::kList: {
      if (value.is_string()) return SetFromText(config, option, value.get<std::string>(), where);
      if (!value.is_array()) return Status::InvalidArgument(where + " must be an array of strings");
      std::vector<std::string> items;
      for (const auto& item : value) {
        if (!item.is_string()) return Status::InvalidArgument(where + " must be an array of strings");
        items.push_back(item.get<std::string>());
      }
      config.*std::get<std::vector<std::string> C::*>(option.field) = std::move(items);
      return Status::Ok();
    }
  }
  return Status::Internal("unknown option type");
}

Status ApplyFile(ServerConfig& config, const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound("config file " + path + " cannot be opened");
  std::stringstream ss;
  ss << in.rdbuf();
  const nlohmann::json doc = nlohmann::json::parse(ss.str(), nullptr, /*allow_exceptions=*/false,
                                                   /*ignore_comments=*/true);
  const std::string source = "config file " + path;
  if (doc.is_discarded()) return Status::InvalidArgument(source + " is not valid JSON");
  if (!doc.is_object()) return Status::InvalidArgument(source + " must hold a JSON object");
  for (const auto& [key, value] : doc.items()) {
    if (!key.empty() && key[0] == '_') continue;  // "_doc" and other comments
    const ConfigOption* option = nullptr;
    for (const ConfigOption& o : ConfigOptions()) {
      if (o.key == key) option = &o;
    }
    if (option == nullptr) return Status::InvalidArgument(source + ": unknown option '" + key + "'");
    if (Status st = SetFromJson(config, *option, value, source); !st.ok()) return st;
  }
  return Status::Ok();
}

}  // namespace

std::string ConfigOption::flag() const {
  std::string f = "--" + std::string(key);
  for (char& c : f) c = c == '_' ? '-' : c;
  return f;
}

std::string ConfigOption::env_var() const {
  std::string e = "FPGASERVE_" + std::string(key);
  for (char& c : e) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return e;
}

const std::vector<ConfigOption>& ConfigOptions() {
  static const std::vector<ConfigOption> options = {
      {"host", "address to listen on (0.0.0.0 for every interface)", &C::host},
      {"port", "TCP port to listen on", &C::port},
      {"model", "llama2.c checkpoint or GGUF file (empty: the bundled demo model)", &C::model},
      {"tokenizer", "llama2.c tokenizer.bin (empty: a GGUF model's own, else the bundled demo tokenizer)",
       &C::tokenizer},
      {"served_model_name",
       "the model id clients send and /v1/models lists (empty: a GGUF's general.name, else the model file's stem)",
       &C::served_model_name},
      {"device", "cards: sim:N (simulated) or xrt:I[,xrt:J] (needs xclbin)", &C::device},
      {"xclbin", "the .xclbin / .awsxclbin for XRT cards", &C::xclbin},
      {"kv_slots", "KV-cache slots per card: sequences a card runs at once", &C::kv_slots},
      {"cache_len", "tokens per KV slot (the context); 0 = the model's seq_len", &C::cache_len},
      {"sim_threads", "kernel threads per simulated card; 0 = cores / cards", &C::sim_threads},
      {"max_queue", "sequences waiting for a slot; beyond it requests get 429", &C::max_queue},
      {"step_token_budget", "tokens per card step (decode + prefill); 0 = the card's maximum", &C::step_token_budget},
      {"step_timeout_ms", "a card step slower than this marks the card unhealthy", &C::step_timeout_ms},
      {"energy_sample_ms", "ms between power/temperature readings of the cards and the host; 0 = none",
       &C::energy_sample_ms},
      {"card_warn_celsius", "a card at or past this temperature is reported hot (/health, log); 0 = no limit",
       &C::card_warn_celsius},
      {"card_fail_celsius", "a card at or past this temperature is taken out of service; 0 = no limit",
       &C::card_fail_celsius},
      {"powercap_dir", "Linux powercap folder for the host's RAPL energy; empty = do not read it", &C::powercap_dir},
      {"request_timeout_s", "a sequence running longer than this is ended; 0 = no limit", &C::request_timeout_s},
      {"chat_template",
       "auto (the model's own: a GGUF's tokenizer.chat_template, else llama2), plain (System:/User:/Assistant: "
       "lines) or llama2 ([INST] ... [/INST])",
       &C::chat_template},
      {"chat_template_file",
       "Jinja chat template file (Hugging Face tokenizer_config.json chat_template format); overrides chat_template",
       &C::chat_template_file},
      {"default_max_tokens", "max_tokens when a request gives none (capped by the room left in the context)",
       &C::default_max_tokens},
      {"max_tokens_limit", "the largest max_tokens accepted; 0 = the context length", &C::max_tokens_limit},
      {"max_n", "the largest n (choices per request)", &C::max_n},
      {"api_keys", "accepted API keys (comma-separated); empty = no authentication", &C::api_keys},
      {"api_key_file", "file with one API key per line, added to api_keys", &C::api_key_file},
      {"cors_origins", "origins allowed by CORS (comma-separated, * = any); empty = CORS off", &C::cors_origins},
      {"max_body_bytes", "largest request body; larger ones get 413", &C::max_body_bytes},
      {"sse_keepalive_s", "seconds between SSE keep-alive comments while no token arrives", &C::sse_keepalive_s},
      {"drain_timeout_s", "on SIGTERM/SIGINT, how long in-flight requests may still run", &C::drain_timeout_s},
      {"http_threads", "HTTP I/O threads (connections do not hold one; more than 4 a core are not used)",
       &C::http_threads},
      {"max_connections", "most open HTTP connections; past it 503 and close", &C::max_connections},
      {"max_header_bytes", "largest request header block; larger ones get 431", &C::max_header_bytes},
      {"http_reuse_port", "1 = SO_REUSEPORT: several processes may listen on the port (0 = address in use)",
       &C::http_reuse_port},
      {"http_read_timeout_s", "total time for a request's headers and body, from its first byte",
       &C::http_read_timeout_s},
      {"http_write_timeout_s", "a stream whose reader takes nothing for this long is closed", &C::http_write_timeout_s},
      {"http_keep_alive_timeout_s", "idle connection timeout (between requests, or before the first)",
       &C::http_keep_alive_timeout_s},
      {"retry_after_s", "Retry-After seconds sent with 429", &C::retry_after_s},
      {"log_format", "text or json (one JSON object per line)", &C::log_format},
      {"log_level", "trace, debug, info, warn or error", &C::log_level},
  };
  return options;
}

std::string ConfigValueText(const ServerConfig& config, const ConfigOption& option) {
  switch (option.type()) {
    case ConfigType::kString: return config.*std::get<std::string C::*>(option.field);
    case ConfigType::kInt: return std::to_string(config.*std::get<int C::*>(option.field));
    case ConfigType::kDouble: {
      std::ostringstream ss;
      ss << config.*std::get<double C::*>(option.field);
      return ss.str();
    }
    case ConfigType::kList: {
      std::string out;
      for (const std::string& s : config.*std::get<std::vector<std::string> C::*>(option.field)) {
        out += (out.empty() ? "" : ",") + s;
      }
      return out;
    }
  }
  return "";
}

EnvLookup ProcessEnv() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

Result<ServerConfig> ResolveServerConfig(const std::map<std::string, std::string>& flags, const EnvLookup& env) {
  ServerConfig config;
  std::optional<std::string> file;
  if (auto it = flags.find("config"); it != flags.end()) {
    file = it->second;
  } else {
    file = env("FPGASERVE_CONFIG");
  }
  if (file && !file->empty()) {
    if (Status st = ApplyFile(config, *file); !st.ok()) return st;
  }
  for (const ConfigOption& option : ConfigOptions()) {
    if (auto value = env(option.env_var())) {
      if (Status st = SetFromText(config, option, *value, option.env_var()); !st.ok()) return st;
    }
  }
  for (const auto& [key, value] : flags) {
    if (key == "config") continue;
    const ConfigOption* option = nullptr;
    for (const ConfigOption& o : ConfigOptions()) {
      if (o.key == key) option = &o;
    }
    if (option == nullptr) return Status::InvalidArgument("unknown option '" + key + "'");
    if (Status st = SetFromText(config, *option, value, option->flag()); !st.ok()) return st;
  }
  if (Status st = ValidateServerConfig(config); !st.ok()) return st;
  return config;
}

Status ValidateServerConfig(const ServerConfig& c) {
  auto bad = [](std::string_view key, const std::string& why) {
    return Status::InvalidArgument(std::string(key) + " " + why);
  };
  if (c.port < 0 || c.port > 65535) return bad("port", "must be in [0, 65535]");
  if (c.host.empty()) return bad("host", "must not be empty");
  if (c.device.empty()) return bad("device", "must not be empty");
  if (c.kv_slots < 1) return bad("kv_slots", "must be >= 1");
  if (c.cache_len < 0) return bad("cache_len", "must be >= 0");
  if (c.sim_threads < 0) return bad("sim_threads", "must be >= 0");
  if (c.max_queue < 1) return bad("max_queue", "must be >= 1");
  if (c.step_token_budget < 0) return bad("step_token_budget", "must be >= 0");
  if (c.step_timeout_ms < 1) return bad("step_timeout_ms", "must be >= 1");
  if (c.energy_sample_ms < 0) return bad("energy_sample_ms", "must be >= 0");
  if (c.card_warn_celsius < 0) return bad("card_warn_celsius", "must be >= 0");
  if (c.card_fail_celsius < 0) return bad("card_fail_celsius", "must be >= 0");
  if (c.card_warn_celsius > 0 && c.card_fail_celsius > 0 && c.card_warn_celsius >= c.card_fail_celsius) {
    return bad("card_warn_celsius", "must be below card_fail_celsius");
  }
  if (c.request_timeout_s < 0) return bad("request_timeout_s", "must be >= 0");
  if (c.chat_template != "auto" && c.chat_template != "plain" && c.chat_template != "llama2") {
    return bad("chat_template", "must be auto, plain or llama2, not '" + c.chat_template + "'");
  }
  if (c.default_max_tokens < 1) return bad("default_max_tokens", "must be >= 1");
  if (c.max_tokens_limit < 0) return bad("max_tokens_limit", "must be >= 0");
  if (c.max_n < 1) return bad("max_n", "must be >= 1");
  if (c.max_body_bytes < 1024) return bad("max_body_bytes", "must be >= 1024");
  if (c.sse_keepalive_s <= 0) return bad("sse_keepalive_s", "must be > 0");
  if (c.drain_timeout_s < 0) return bad("drain_timeout_s", "must be >= 0");
  if (c.http_threads < 1) return bad("http_threads", "must be >= 1");
  if (c.max_connections < 1) return bad("max_connections", "must be >= 1");
  if (c.max_header_bytes < 1024) return bad("max_header_bytes", "must be >= 1024");
  if (c.http_reuse_port != 0 && c.http_reuse_port != 1) return bad("http_reuse_port", "must be 0 or 1");
  if (c.http_read_timeout_s < 1) return bad("http_read_timeout_s", "must be >= 1");
  if (c.http_write_timeout_s < 1) return bad("http_write_timeout_s", "must be >= 1");
  if (c.http_keep_alive_timeout_s < 1) return bad("http_keep_alive_timeout_s", "must be >= 1");
  if (c.retry_after_s < 0) return bad("retry_after_s", "must be >= 0");
  if (c.log_format != "text" && c.log_format != "json") {
    return bad("log_format", "must be text or json, not '" + c.log_format + "'");
  }
  static const char* kLevels[] = {"trace", "debug", "info", "warn", "error"};
  bool level_ok = false;
  for (const char* l : kLevels) level_ok = level_ok || c.log_level == l;
  if (!level_ok) return bad("log_level", "must be trace, debug, info, warn or error");
  return Status::Ok();
}

}  // namespace fpgaserve
