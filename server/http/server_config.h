// ServerConfig: every option of `fpgaserve serve`, and the one place that resolves them from four layers,
// highest first: command-line flag > FPGASERVE_* environment variable > JSON config file > built-in default.
//
// One table (ConfigOptions()) names each option once; the flag, the variable and the file key are derived
// from that name, so they cannot drift apart:
//   key "max_queue"  ->  flag --max-queue,  env FPGASERVE_MAX_QUEUE,  file {"max_queue": 256}
// The config file comes from --config or FPGASERVE_CONFIG (there is no implicit file: the shipped
// config/fpgaserve.json only repeats the defaults, with a "_doc" per option). File keys starting with '_'
// are comments; any other unknown key is an error (a typo should not be silently ignored).
// List options (api_keys, cors_origins) are comma-separated in flags and env, and JSON arrays (or a
// comma-separated string) in the file.
//
// Thread-safety: plain data and pure functions.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/status.h"

namespace fpgaserve {

struct ServerConfig {
  // Listening.
  std::string host = "127.0.0.1";
  int port = 8080;
  // Model and cards.
  std::string model;              // "" = the bundled demo model
  std::string tokenizer;          // "" = a GGUF model's own, else the bundled demo tokenizer
  std::string served_model_name;  // "" = a GGUF's general.name, else the model file's name without extension
  std::string device = "sim:1";
  std::string xclbin;
  int kv_slots = 8;     // per card
  int cache_len = 0;    // tokens per KV slot; 0 = the model's seq_len
  int sim_threads = 0;  // kernel threads per simulated card; 0 = cores / cards
  // Engine.
  int max_queue = 256;
  int step_token_budget = 0;
  int step_timeout_ms = 30000;
  // Power and temperature (fpga/energy_sampler.h).
  int energy_sample_ms = 1000;                       // between sensor readings; 0 = no sampling
  double card_warn_celsius = 90;                     // a card at or past this is "hot" (/health, log); 0 = off
  double card_fail_celsius = 100;                    // ... and past this taken out of service; 0 = off
  std::string powercap_dir = "/sys/class/powercap";  // the host's RAPL counters; "" = do not read them
  double request_timeout_s = 600;                    // a sequence running longer is ended; 0 = no limit
  // OpenAI API behaviour.
  // auto | llama2 | plain. auto: the model's own template (a GGUF's tokenizer.chat_template) when it has
  // one, else llama2. plain is for base models such as the bundled demo.
  std::string chat_template = "auto";
  std::string chat_template_file;         // a Jinja chat template (HF format); when set, chat_template is unused
  int default_max_tokens = 256;           // when a request gives none: min(this, context - prompt)
  int max_tokens_limit = 0;               // the largest max_tokens accepted; 0 = the context length
  int max_n = 16;                         // the largest n (choices per request)
  std::vector<std::string> api_keys;      // empty (and no api_key_file) = no authentication
  std::string api_key_file;               // one key per line, added to api_keys
  std::vector<std::string> cors_origins;  // empty = CORS off; "*" = any origin
  // HTTP.
  int max_body_bytes = 1 << 20;
  double sse_keepalive_s = 5;         // SSE comment interval while no token arrives
  double drain_timeout_s = 30;        // on SIGTERM: how long in-flight requests may still run
  int http_threads = 2;               // I/O threads; no connection holds one (server/net)
  int max_connections = 10000;        // open connections; past it 503 and close
  int max_header_bytes = 8192;        // a request's header block; larger: 431
  int http_reuse_port = 0;            // 1: SO_REUSEPORT (several processes share the port on purpose)
  int http_read_timeout_s = 10;       // a request's headers and body, in total, from its first byte
  int http_write_timeout_s = 30;      // a write that makes no progress (a reader that stopped) closes
  int http_keep_alive_timeout_s = 5;  // a connection idle between requests (or before its first)
  int retry_after_s = 1;              // the Retry-After header of 429 answers
  // Logs.
  std::string log_format = "text";  // text | json
  std::string log_level = "info";   // trace | debug | info | warn | error
};

enum class ConfigType { kString, kInt, kDouble, kList };

struct ConfigOption {
  std::string_view key;   // snake_case; the file key
  std::string_view help;  // one line, for --help and the docs
  std::variant<std::string ServerConfig::*, int ServerConfig::*, double ServerConfig::*,
               std::vector<std::string> ServerConfig::*>
      field;
  ConfigType type() const { return static_cast<ConfigType>(field.index()); }
  std::string flag() const;     // "--max-queue"
  std::string env_var() const;  // "FPGASERVE_MAX_QUEUE"
};

// Every option, in documentation order. "config" (the file's path) is not among them: it is a flag and
// env variable only (--config, FPGASERVE_CONFIG).
const std::vector<ConfigOption>& ConfigOptions();

// The value of `option` in `config`, as text (lists comma-joined), for --help defaults and logs.
std::string ConfigValueText(const ServerConfig& config, const ConfigOption& option);

// Looks up an environment variable; production passes one backed by getenv, tests a map.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
EnvLookup ProcessEnv();

// Resolves the configuration: defaults, then the file (flags["config"], else env FPGASERVE_CONFIG, when
// set), then env variables, then `flags` (option key -> text as typed, only the flags given). Returns the
// validated config, or InvalidArgument naming the source and option ("FPGASERVE_PORT: 'x' is not an
// integer", "config file f.json: unknown option 'prot'"), or NotFound when the config file is missing.
Result<ServerConfig> ResolveServerConfig(const std::map<std::string, std::string>& flags, const EnvLookup& env);

// Range checks of a resolved config (ports, positive sizes, enum values). InvalidArgument naming the key.
Status ValidateServerConfig(const ServerConfig& config);

}  // namespace fpgaserve
