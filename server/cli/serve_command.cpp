// fpgaserve serve: the daemon. Resolves the configuration (server_config.h: flag > env > file > default),
// starts listening at once (/health answers 503 "loading" meanwhile), loads the model, opens the cards,
// starts the engine, and serves until SIGTERM/SIGINT: then it drains (new requests 503, running ones
// finish, up to drain_timeout_s), stops and exits 0. A second signal exits at once with status 1.
#include <spdlog/spdlog.h>

// Asio's scheduler trips GCC 12's -Wnull-dereference once inlined here (a false positive inside Boost).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#pragma GCC diagnostic pop
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "base/log_line.h"
#include "fpga/device_pool.h"
#include "fpga/energy_sampler.h"
#include "fpga/powercap_sensor.h"
#include "server/api/engine_backend.h"
#include "server/api/jinja_chat.h"
#include "server/cli/commands.h"
#include "server/engine/energy_metrics.h"
#include "server/engine/engine.h"
#include "server/engine/engine_metrics.h"
#include "server/http/http_server.h"
#include "server/http/server_config.h"
#include "server/model/bundled_model.h"
#include "server/model/gguf.h"
#include "server/model/loaded_model.h"
#include "server/model/tokenizer.h"

namespace fpgaserve::cli {
namespace {

using nlohmann::json;

struct ServeFlags {
  std::map<std::string, std::string> values;  // option key -> text typed
  std::vector<std::pair<std::string, CLI::Option*>> options;
};

// Adds the keys of api_key_file (one per line, blank lines and #-comments skipped) to config.api_keys.
void LoadApiKeyFile(ServerConfig& config) {
  if (config.api_key_file.empty()) return;
  std::ifstream in(config.api_key_file);
  if (!in) Fail("api_key_file " + config.api_key_file + " cannot be opened");
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty() && line[0] != '#') config.api_keys.push_back(line);
  }
}

// SIGTERM / SIGINT: the first drains then stops the server; the second exits at once.
class SignalHandler {
 public:
  SignalHandler(HttpServer* server, double drain_timeout_s)
      : server_(server),
        drain_timeout_(std::chrono::milliseconds(static_cast<int64_t>(drain_timeout_s * 1000))),
        signals_(io_, SIGINT, SIGTERM),
        timer_(io_) {
    Wait();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~SignalHandler() { Shutdown(); }

  // Stops handling signals and joins the handler's thread. After it nothing here touches the server or,
  // through its StartDrain, the backend: RunServe calls it before the backend and the engine are destroyed
  // (ThreadSanitizer saw StartDrain's virtual call race with the backend's destructor otherwise).
  void Shutdown() {
    if (!thread_.joinable()) return;
    io_.stop();
    thread_.join();
  }

 private:
  void Wait() {
    signals_.async_wait([this](const boost::system::error_code& ec, int signal) {
      if (ec) return;
      if (draining_) {
        spdlog::warn(LogLine("second signal: exiting now", {{"signal", signal}}));
        std::_Exit(1);
      }
      draining_ = true;
      spdlog::info(LogLine("draining", {{"signal", signal},
                                        {"in_flight", server_->in_flight()},
                                        {"drain_timeout_s", drain_timeout_.count() / 1000.0}}));
      server_->StartDrain();
      deadline_ = std::chrono::steady_clock::now() + drain_timeout_;
      Poll();
      Wait();
    });
  }
  // Every 50 ms: stop once nothing is in flight, or when the drain timeout has passed.
  void Poll() {
    const bool timed_out = std::chrono::steady_clock::now() >= deadline_;
    if (server_->in_flight() == 0 || timed_out) {
      if (timed_out && server_->in_flight() > 0) {
        spdlog::warn(LogLine("drain timeout: cancelling", {{"in_flight", server_->in_flight()}}));
      }
      server_->Stop();
      return;
    }
    timer_.expires_after(std::chrono::milliseconds(50));
    timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) Poll();
    });
  }

  HttpServer* server_;
  const std::chrono::milliseconds drain_timeout_;
  boost::asio::io_context io_;
  boost::asio::signal_set signals_;
  boost::asio::steady_timer timer_;
  bool draining_ = false;  // only touched on the io thread
  std::chrono::steady_clock::time_point deadline_;
  std::thread thread_;
};

// The id clients send and /v1/models lists: --served-model-name; else a GGUF's general.name (read from the
// file's header now, before the server answers /health, so the name is known while the model loads); else
// the file's stem. A GGUF that cannot be opened falls back to the stem: loading it reports the defect.
std::string ServedModelName(const ServerConfig& config, const std::string& model_path) {
  if (!config.served_model_name.empty()) return config.served_model_name;
  if (GgufFile::HasMagic(model_path)) {
    Result<std::unique_ptr<GgufFile>> file = GgufFile::Open(model_path);
    if (file.ok()) {
      const GgufValue* name = file.value()->Find("general.name");
      if (name != nullptr && name->type == GgufValueType::kString && !name->str.empty()) return name->str;
    }
  }
  return std::filesystem::path(model_path).stem().string();
}

// The Jinja template chat requests are rendered with, or nullptr for the built-in config.chat_template:
// --chat-template-file when given; else, when chat_template is auto, the GGUF's tokenizer.chat_template.
// `source` says which, for the log. Errors name the file and the construct the interpreter refused, and
// say how to choose another template.
Result<std::shared_ptr<const JinjaChatTemplate>> ChatTemplateFor(const ServerConfig& config, const LoadedModel& model,
                                                                 const Tokenizer& tokenizer, std::string* source) {
  *source = config.chat_template;
  if (!config.chat_template_file.empty()) {
    *source = "jinja:" + config.chat_template_file;
    return LoadJinjaChatTemplateFile(config.chat_template_file, VocabularyChatOptions(tokenizer));
  }
  if (config.chat_template != "auto") return std::shared_ptr<const JinjaChatTemplate>();
  const GgufValue* text = model.gguf() != nullptr ? model.gguf()->Find("tokenizer.chat_template") : nullptr;
  if (text == nullptr || text->type != GgufValueType::kString || text->str.empty()) {
    *source = "llama2 (auto: the model carries no chat template)";
    return std::shared_ptr<const JinjaChatTemplate>();
  }
  *source = "gguf:tokenizer.chat_template";
  Result<std::shared_ptr<const JinjaChatTemplate>> t = JinjaChatTemplate::Create(text->str,
                                                                                 VocabularyChatOptions(tokenizer));
  if (!t.ok()) {
    return Status::InvalidArgument(model.gguf()->path() +
                                   ": its tokenizer.chat_template cannot be used: " + t.status().message() +
                                   " (choose another with --chat-template llama2|plain or --chat-template-file)");
  }
  return t;
}

void RunServe(const ServeFlags& flags) {
  std::map<std::string, std::string> given;
  for (const auto& [key, option] : flags.options) {
    if (option->count() > 0) given[key] = flags.values.at(key);
  }
  Result<ServerConfig> resolved = ResolveServerConfig(given, ProcessEnv());
  if (!resolved.ok()) Fail(resolved.status().message());
  ServerConfig config = std::move(resolved.value());
  LoadApiKeyFile(config);
  ConfigureLogging(config.log_format == "json" ? LogFormat::kJson : LogFormat::kText, config.log_level);

  const std::string model_path = config.model.empty() ? BundledModelPath() : config.model;
  const std::string model_name = ServedModelName(config, model_path);

  auto registry = std::make_shared<prometheus::Registry>();
  HttpServer server(config, model_name, registry);
  Result<int> port = server.Bind();
  if (!port.ok()) Fail(port.status().message());
  std::thread serve_thread([&server] { server.Serve(); });
  SignalHandler signals(&server, config.drain_timeout_s);
  spdlog::info(LogLine("listening", {{"address", "http://" + config.host + ":" + std::to_string(port.value())},
                                     {"model", model_name},
                                     {"api_keys", config.api_keys.size()}}));

  // Load while /health says "loading". A failure stops the server and exits 1.
  auto fail = [&](const std::string& message) {
    spdlog::error(LogLine("start-up failed", {{"error", message}}));
    server.Stop();
    serve_thread.join();
    // The log line said it all; a JSON log stays JSON (Fail's plain "fpgaserve: ..." line goes only to text).
    if (config.log_format == "json") throw CLI::RuntimeError(1);
    Fail(message);
  };
  Result<std::shared_ptr<const LoadedModel>> model = LoadedModel::FromFile(model_path);
  if (!model.ok()) fail(model.status().message());
  const ModelConfig& mc = model.value()->config();
  spdlog::info(LogLine("model", {{"file", model_path},
                                 {"dim", mc.dim},
                                 {"hidden_dim", mc.hidden_dim},
                                 {"layers", mc.n_layers},
                                 {"heads", mc.n_heads},
                                 {"kv_heads", mc.n_kv_heads},
                                 {"vocab", mc.vocab_size},
                                 {"seq_len", mc.seq_len},
                                 {"group_size", mc.group_size}}));
  // No tokenizer configured: a GGUF model's own, else the bundled one.
  Result<Tokenizer> tokenizer = LoadTokenizerFor(*model.value(), config.tokenizer, BundledTokenizerPath());
  if (!tokenizer.ok()) fail(tokenizer.status().message());
  auto shared_tokenizer = std::make_shared<const Tokenizer>(std::move(tokenizer.value()));
  std::string chat_template_source;
  Result<std::shared_ptr<const JinjaChatTemplate>> chat_template =
      ChatTemplateFor(config, *model.value(), *shared_tokenizer, &chat_template_source);
  if (!chat_template.ok()) fail(chat_template.status().message());
  spdlog::info(LogLine("chat template", {{"chat_template", chat_template_source}}));

  DevicePoolOptions pool;
  pool.n_slots = config.kv_slots;
  pool.cache_len = config.cache_len;
  pool.sim_threads = config.sim_threads;
  pool.xclbin = config.xclbin;
  Result<std::vector<std::unique_ptr<Device>>> cards = OpenDevices(config.device, model.value()->image(), pool);
  if (!cards.ok()) fail(cards.status().message());
  for (const auto& card : cards.value()) {
    const DeviceInfo& d = card->info();
    spdlog::info(LogLine("card", {{"name", d.name},
                                  {"kv_slots", d.n_slots},
                                  {"cache_len", d.cache_len},
                                  {"max_step", d.max_step},
                                  {"kv_bytes_per_slot", d.kv_bytes_per_slot},
                                  {"kv_bytes", d.kv_bytes_per_slot * static_cast<uint64_t>(d.n_slots)}}));
  }

  EngineMetrics engine_metrics(*registry, model_name);
  EngineOptions engine_options;
  engine_options.max_queue = config.max_queue;
  engine_options.step_token_budget = config.step_token_budget;
  engine_options.step_timeout = std::chrono::milliseconds(config.step_timeout_ms);
  // Power and temperature: each card's own sensor (an XRT card's board reports), and the host's RAPL
  // energy. The sensors belong to the cards, which the engine owns from here on: the sampler is declared
  // after the engine, so it stops before the cards go.
  std::vector<std::pair<std::string, DeviceSensor*>> sensors;
  for (const auto& card : cards.value()) {
    if (DeviceSensor* s = card->sensor()) sensors.emplace_back(card->info().name, s);
  }
  std::unique_ptr<PowercapSensor> host_power;
  if (!config.powercap_dir.empty() && config.energy_sample_ms > 0) {
    Result<std::unique_ptr<PowercapSensor>> rapl = PowercapSensor::Open(config.powercap_dir);
    if (rapl.ok()) {
      host_power = std::move(rapl.value());
      sensors.emplace_back("host", host_power.get());
    } else {
      spdlog::info(LogLine("host energy unavailable", {{"reason", rapl.status().message()}}));
    }
  }

  Result<std::unique_ptr<Engine>> engine = Engine::Create(engine_options, std::move(cards.value()), shared_tokenizer,
                                                          &engine_metrics);
  if (!engine.ok()) fail(engine.status().message());

  EnergyMetrics energy_metrics(*registry, model_name);
  EnergySamplerOptions sampling;
  sampling.period = std::chrono::milliseconds(std::max(config.energy_sample_ms, 1));
  sampling.max_gap = std::max(std::chrono::milliseconds(10000), 5 * sampling.period);
  if (config.card_warn_celsius > 0) sampling.warn_celsius = config.card_warn_celsius;
  if (config.card_fail_celsius > 0) sampling.fail_celsius = config.card_fail_celsius;
  EnergySampler sampler(sampling, RealClock());
  for (const auto& [name, sensor] : sensors) sampler.AddDevice(name, sensor);
  Engine* running_engine = engine.value().get();
  sampler.SetListener([&energy_metrics, running_engine](const std::vector<DeviceEnergy>& devices) {
    energy_metrics.Update(devices);
    for (const DeviceEnergy& d : devices) {
      if (d.device == "host") continue;
      running_engine->ReportCardSensors(d.device, {d.watts, d.celsius, ThermalStateName(d.thermal)});
      if (d.thermal == ThermalState::kTooHot) {
        // The sampler's device names are the engine's card names, so NotFound would be a bug: say so.
        if (Status st = running_engine->FailCard(d.device, "too hot: " + FormatReading(d.celsius, "C") +
                                                               ", at or past card_fail_celsius");
            !st.ok()) {
          spdlog::error(
              LogLine("could not take a too hot card out of service", {{"card", d.device}, {"error", st.ToString()}}));
        }
      }
    }
  });
  if (config.energy_sample_ms > 0 && !sensors.empty()) {
    sampler.Start();
    std::string names;
    for (const auto& s : sensors) names += (names.empty() ? "" : ",") + s.first;
    spdlog::info(LogLine("energy sampling", {{"devices", names}, {"period_ms", config.energy_sample_ms}}));
  } else {
    spdlog::info(LogLine("energy sampling off",
                         {{"reason", sensors.empty() ? "no card or host sensor" : "energy_sample_ms is 0"}}));
  }
  EngineBackend backend(engine.value().get());
  server.SetReady(shared_tokenizer, &backend, chat_template.value());
  spdlog::info(LogLine("ready", {{"context", engine.value()->context_length()}, {"max_queue", config.max_queue}}));

  serve_thread.join();  // returns once a signal drained and stopped the server
  signals.Shutdown();
  sampler.Stop();
  spdlog::info(LogLine("stopped", json::object()));
}

}  // namespace

void AddServeCommand(CLI::App& app) {
  auto flags = std::make_shared<ServeFlags>();
  CLI::App* cmd = app.add_subcommand("serve", "Serve the OpenAI-compatible HTTP API (see config/README.md)");
  const ServerConfig defaults;
  for (const ConfigOption& option : ConfigOptions()) {
    const std::string key(option.key);
    std::string help(option.help);
    help += " [env " + option.env_var() + ", default '" + ConfigValueText(defaults, option) + "']";
    CLI::Option* o = cmd->add_option(option.flag(), flags->values[key], help);
    flags->options.emplace_back(key, o);
  }
  CLI::Option* config = cmd->add_option("--config", flags->values["config"],
                                        "JSON config file (config/fpgaserve.json documents every option) "
                                        "[env FPGASERVE_CONFIG]");
  flags->options.emplace_back("config", config);
  cmd->callback([flags] { RunServe(*flags); });
}

}  // namespace fpgaserve::cli
