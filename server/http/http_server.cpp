#include "server/http/http_server.h"

#include <chrono>
#include <ctime>

#include <prometheus/text_serializer.h>
#include <spdlog/spdlog.h>

#include "base/log_line.h"
#include "base/mutex.h"
#include "server/api/completion_runner.h"
#include "server/api/openai_response.h"
#include "server/api/request_preparer.h"
#include "server/api/tokenize_api.h"

namespace fpgaserve {
namespace {

using httplib::Request;
using httplib::Response;
using HandlerResponse = httplib::Server::HandlerResponse;
using Steady = std::chrono::steady_clock;

const char* const kJson = "application/json";
const char* const kRoutes[] = {"/v1/completions", "/v1/chat/completions", "/v1/models",
                               "/tokenize",       "/detokenize",          "/health",
                               "/metrics"};

// What the log line and the metrics of the request being answered on this thread say. httplib answers a
// request, its streamed body included, on one thread, and calls the logger last; so a thread-local record
// set up before routing and filled by the handlers is complete when the logger reads it.
struct RequestRecord {
  const Request* request = nullptr;  // which request this record is for
  Steady::time_point start;
  std::string id;
  std::string user;
  std::string error_type;
  int prompt_tokens = -1;
  int completion_tokens = -1;
};
thread_local RequestRecord t_record;

RequestRecord& RecordFor(const Request& req) {
  if (t_record.request != &req) {
    t_record = RequestRecord{};
    t_record.request = &req;
    t_record.start = Steady::now();
  }
  return t_record;
}

std::string EndpointLabel(const std::string& path) {
  for (const char* route : kRoutes) {
    if (path == route) return route;
  }
  if (path.rfind("/v1/models/", 0) == 0) return "/v1/models";
  return "other";
}

bool NeedsAuth(const std::string& path) { return path != "/health" && path != "/metrics"; }

// Equal strings in time independent of where they differ (API keys).
bool SameKey(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace

class HttpServer::InFlight {
 public:
  explicit InFlight(HttpServer* server) : server_(server) {
    MutexLock lock(&server_->flight_mu_);
    server_->in_flight_++;
  }
  ~InFlight() {
    MutexLock lock(&server_->flight_mu_);
    if (--server_->in_flight_ == 0) server_->flight_done_.notify_all();
  }
  InFlight(const InFlight&) = delete;
  InFlight& operator=(const InFlight&) = delete;

 private:
  HttpServer* const server_;
};

HttpServer::HttpServer(const ServerConfig& config, std::string model_name,
                       std::shared_ptr<prometheus::Registry> registry, Clock* clock)
    : config_(config),
      clock_(clock != nullptr ? clock : RealClock()),
      model_name_(std::move(model_name)),
      // auto is llama2 unless SetReady brings the model's own template.
      chat_template_(config.chat_template == "plain" ? ChatTemplateKind::kPlain : ChatTemplateKind::kLlama2),
      created_(static_cast<int64_t>(std::time(nullptr))),
      registry_(std::move(registry)),
      api_keys_(config.api_keys),
      metrics_(*registry_, model_name_) {
  const int threads = config_.http_threads;
  server_.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  server_.set_payload_max_length(static_cast<size_t>(config_.max_body_bytes));
  server_.set_read_timeout(config_.http_read_timeout_s, 0);
  server_.set_write_timeout(config_.http_write_timeout_s, 0);
  server_.set_keep_alive_timeout(config_.http_keep_alive_timeout_s);
  InstallRoutes();
}

HttpServer::~HttpServer() { Stop(); }

Result<int> HttpServer::Bind() {
  const int port = config_.port == 0 ? server_.bind_to_any_port(config_.host)
                                     : (server_.bind_to_port(config_.host, config_.port) ? config_.port : -1);
  if (port < 0) {
    return Status::Unavailable("cannot listen on " + config_.host + ":" + std::to_string(config_.port) +
                               " (address in use, or not an address of this host)");
  }
  if (!server_.WidenBacklog(SOMAXCONN)) {
    spdlog::warn(LogLine("could not widen the listen backlog; bursts may be refused", {{"backlog", SOMAXCONN}}));
  }
  return port;
}

void HttpServer::Serve() { server_.listen_after_bind(); }

void HttpServer::SetReady(std::shared_ptr<const Tokenizer> tokenizer, Backend* backend,
                          std::shared_ptr<const JinjaChatTemplate> chat_template) {
  MutexLock lock(&mu_);
  ready_ = {std::move(tokenizer), backend, std::move(chat_template)};
}

void HttpServer::StartDrain() {
  draining_ = true;
  MutexLock lock(&mu_);
  if (ready_.backend != nullptr) ready_.backend->StartDrain();
}

void HttpServer::Stop() {
  draining_ = true;
  stopping_.request_stop();  // runners cancel their sequences and send the error event
  {
    // Give the cancelled streams a moment to write their last events before the sockets close.
    MutexLock lock(&flight_mu_);
    clock_->WaitFor(lock.native(), flight_done_, std::chrono::seconds(1), [&] {
      flight_mu_.AssertHeld();
      return in_flight_ == 0;
    });
  }
  // Not httplib's stop(): a start-up failure can come right after Serve() was launched on its thread, before
  // the accept loop runs, and stop() would then do nothing.
  server_.CloseListener();
}

void HttpServer::InstallRoutes() {
  server_.set_pre_routing_handler([this](const Request& req, Response& res) { return PreRoute(req, res); });
  server_.set_error_handler(
      httplib::Server::HandlerWithResponse([this](const Request& req, Response& res) { return OnError(req, res); }));
  server_.set_logger([this](const Request& req, const Response& res) { OnLogged(req, res); });
  server_.set_exception_handler([this](const Request&, Response& res, std::exception_ptr ep) {
    std::string what = "unknown exception";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    SendError(res, ErrorFromStatus(Status::Internal("internal error: " + what)));
  });

  server_.Post("/v1/completions",
               [this](const Request& q, Response& r) { HandleGenerate(ApiKind::kCompletion, q, r); });
  server_.Post("/v1/chat/completions", [this](const Request& q, Response& r) { HandleGenerate(ApiKind::kChat, q, r); });
  server_.Get("/v1/models", [this](const Request& q, Response& r) { HandleModels(q, r); });
  server_.Get("/v1/models/(.+)", [this](const Request& q, Response& r) { HandleModels(q, r); });
  server_.Post("/tokenize", [this](const Request& q, Response& r) { HandleTokenize(true, q, r); });
  server_.Post("/detokenize", [this](const Request& q, Response& r) { HandleTokenize(false, q, r); });
  server_.Get("/health", [this](const Request&, Response& r) { HandleHealth(r); });
  server_.Get("/metrics", [this](const Request&, Response& r) { HandleMetrics(r); });

  // The other methods on the known paths: 405 with Allow.
  auto not_allowed = [this](const char* allow) {
    return [this, allow](const Request& req, Response& res) {
      res.set_header("Allow", allow);
      SendError(res, MethodNotAllowedError(req.method, req.path));
    };
  };
  for (const char* path : {"/v1/completions", "/v1/chat/completions", "/tokenize", "/detokenize"}) {
    server_.Get(path, not_allowed("POST"));
    server_.Put(path, not_allowed("POST"));
    server_.Delete(path, not_allowed("POST"));
    server_.Patch(path, not_allowed("POST"));
  }
  for (const char* path : {"/v1/models", "/v1/models/(.+)", "/health", "/metrics"}) {
    server_.Post(path, not_allowed("GET"));
    server_.Put(path, not_allowed("GET"));
    server_.Delete(path, not_allowed("GET"));
    server_.Patch(path, not_allowed("GET"));
  }
  // OPTIONS reaches here only when CORS is off or the origin is not allowed (PreRoute answers the rest).
  server_.Options(".*", [this](const Request& req, Response& res) {
    SendError(res, MethodNotAllowedError(req.method, req.path));
  });
}

HandlerResponse HttpServer::PreRoute(const Request& req, Response& res) {
  RecordFor(req);
  const std::string origin = req.get_header_value("Origin");
  bool cors = false;
  if (!origin.empty()) {
    for (const std::string& allowed : config_.cors_origins) cors = cors || allowed == "*" || allowed == origin;
  }
  if (cors) {
    res.set_header("Access-Control-Allow-Origin", origin);
    res.set_header("Vary", "Origin");
    if (req.method == "OPTIONS") {
      res.set_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
      res.set_header("Access-Control-Allow-Headers", req.has_header("Access-Control-Request-Headers")
                                                         ? req.get_header_value("Access-Control-Request-Headers")
                                                         : std::string("Authorization, Content-Type"));
      res.set_header("Access-Control-Max-Age", "600");
      res.status = 204;
      return HandlerResponse::Handled;
    }
  }
  if (NeedsAuth(req.path) && req.method != "OPTIONS" && !Authorized(req)) {
    SendError(res, InvalidApiKeyError());
    return HandlerResponse::Handled;
  }
  return HandlerResponse::Unhandled;
}

bool HttpServer::Authorized(const Request& req) const {
  if (api_keys_.empty()) return true;
  const std::string header = req.get_header_value("Authorization");
  const std::string prefix = "Bearer ";
  if (header.rfind(prefix, 0) != 0) return false;
  const std::string key = header.substr(prefix.size());
  bool ok = false;
  for (const std::string& k : api_keys_) ok = SameKey(k, key) || ok;
  return ok;
}

HandlerResponse HttpServer::OnError(const Request& req, Response& res) {
  RecordFor(req);
  if (!res.body.empty()) return HandlerResponse::Unhandled;  // one of ours, already in shape
  ApiError e;
  switch (res.status) {
    case 404: e = RouteNotFoundError(req.method, req.path); break;
    case 413: e = BodyTooLargeError(static_cast<size_t>(config_.max_body_bytes)); break;
    case 405: e = MethodNotAllowedError(req.method, req.path); break;
    default:
      e = {res.status, "The request could not be processed (HTTP " + std::to_string(res.status) + ").",
           res.status < 500 ? "invalid_request_error" : "server_error", "", ""};
  }
  SendError(res, e);
  return HandlerResponse::Handled;
}

void HttpServer::SendError(Response& res, const ApiError& error) {
  res.status = error.http_status;
  if (error.http_status == 429) res.set_header("Retry-After", std::to_string(config_.retry_after_s));
  res.set_content(error.Body(), kJson);
  t_record.error_type = error.type;
}

void HttpServer::OnLogged(const Request& req, const Response& res) {
  RequestRecord& r = RecordFor(req);
  const double ms = std::chrono::duration<double, std::milli>(Steady::now() - r.start).count();
  nlohmann::json fields = {{"method", req.method},
                           {"path", req.path},
                           {"status", res.status},
                           {"latency_ms", std::round(ms * 10) / 10}};
  if (!r.id.empty()) fields["id"] = r.id;
  if (r.prompt_tokens >= 0) fields["prompt_tokens"] = r.prompt_tokens;
  if (r.completion_tokens >= 0) fields["completion_tokens"] = r.completion_tokens;
  if (!r.user.empty()) fields["user"] = r.user;
  if (!r.error_type.empty()) fields["error"] = r.error_type;
  // Probes and scrapes would drown the log at info.
  const bool routine = (req.path == "/health" || req.path == "/metrics") && res.status < 400;
  spdlog::log(routine ? spdlog::level::debug : spdlog::level::info, LogLine("request", fields));
  metrics_.CountRequest(EndpointLabel(req.path), res.status);
  if (res.status >= 400) metrics_.CountError(r.error_type.empty() ? "unknown" : r.error_type);
  t_record = RequestRecord{};
}

bool HttpServer::GetReady(Response& res, Ready* ready) {
  {
    MutexLock lock(&mu_);
    *ready = ready_;
  }
  if (draining_) {
    SendError(res, ErrorFromStatus(Status::Unavailable("The server is shutting down; retry on another instance."), "",
                                   "draining"));
    return false;
  }
  if (ready->backend == nullptr) {
    SendError(res, ErrorFromStatus(Status::Unavailable("The model is still loading; retry shortly."), "", "loading"));
    return false;
  }
  return true;
}

void HttpServer::HandleGenerate(ApiKind kind, const Request& req, Response& res) {
  RequestRecord& record = RecordFor(req);
  Ready ready;
  if (!GetReady(res, &ready)) return;
  std::string param;
  Result<OpenAiRequest> parsed = ParseOpenAiRequest(kind, req.body, RequestLimits{config_.max_n}, &param);
  if (!parsed.ok()) return SendError(res, ErrorFromStatus(parsed.status(), param));
  OpenAiRequest& request = parsed.value();
  record.user = request.user;
  if (!request.model.empty() && request.model != model_name_) {
    return SendError(res,
                     ErrorFromStatus(Status::NotFound("The model '" + request.model +
                                                      "' does not exist; this server serves '" + model_name_ + "'."),
                                     "model", "model_not_found"));
  }
  ResponseMeta meta{kind, NewResponseId(kind), static_cast<int64_t>(std::time(nullptr)), model_name_};
  record.id = meta.id;
  PrepareOptions options{chat_template_,
                         config_.default_max_tokens,
                         config_.max_tokens_limit,
                         std::chrono::milliseconds(static_cast<int64_t>(config_.request_timeout_s * 1000)),
                         ready.chat_template,
                         clock_};
  Result<PreparedRequest> prepared = PrepareRequest(request, *ready.tokenizer, ready.backend->context_length(), options,
                                                    meta.id, &param);
  if (!prepared.ok()) return SendError(res, ErrorFromStatus(prepared.status(), param));

  const bool stream = request.stream;
  auto runner = std::make_shared<CompletionRunner>(meta, std::move(request), std::move(prepared.value()),
                                                   ready.tokenizer, clock_);
  if (Status st = runner->Submit(*ready.backend); !st.ok()) return SendError(res, ErrorFromStatus(st));

  auto guard = std::make_shared<InFlight>(this);

  if (!stream) {
    Result<nlohmann::json> body = runner->Collect(stopping_.get_token());
    record.prompt_tokens = runner->usage().prompt_tokens;
    record.completion_tokens = runner->usage().completion_tokens;
    if (!body.ok()) return SendError(res, ErrorFromStatus(body.status()));
    res.set_content(DumpJson(body.value()), kJson);
    return;
  }
  const auto keepalive = std::chrono::milliseconds(static_cast<int64_t>(config_.sse_keepalive_s * 1000));
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "text/event-stream",
      [this, runner, guard, keepalive](size_t, httplib::DataSink& sink) {
        const bool ok = runner->StreamTo(
            [&sink](std::string_view data) { return sink.is_writable() && sink.write(data.data(), data.size()); },
            keepalive, stopping_.get_token());
        RequestRecord& r = t_record;
        r.prompt_tokens = runner->usage().prompt_tokens;
        r.completion_tokens = runner->usage().completion_tokens;
        if (!runner->error().ok()) r.error_type = ErrorFromStatus(runner->error()).type;
        if (ok) sink.done();
        return ok;
      },
      [runner, guard](bool) { runner->CancelAll(); });
}

void HttpServer::HandleHealth(Response& res) {
  Ready ready;
  {
    MutexLock lock(&mu_);
    ready = ready_;
  }
  nlohmann::json body = {{"model", model_name_}};
  int status = 200;
  if (ready.backend == nullptr) {
    body["status"] = "loading";
    status = 503;
  } else {
    const EngineState state = ready.backend->State();
    int healthy = 0;
    nlohmann::json cards = nlohmann::json::array();
    std::vector<std::string> hot;
    for (const CardState& c : state.cards) {
      healthy += c.healthy ? 1 : 0;
      nlohmann::json card = {{"name", c.name},
                             {"healthy", c.healthy},
                             {"slots_total", c.slots_total},
                             {"slots_used", c.slots_used},
                             {"thermal", c.sensors.thermal}};
      // Sensors: a value, or "unavailable" (never a made-up number).
      card["power_watts"] = c.sensors.watts ? nlohmann::json(*c.sensors.watts) : nlohmann::json("unavailable");
      card["temperature_celsius"] = c.sensors.celsius ? nlohmann::json(*c.sensors.celsius)
                                                      : nlohmann::json("unavailable");
      if (c.sensors.thermal != "ok") hot.push_back(c.name + " is " + c.sensors.thermal);
      cards.push_back(std::move(card));
    }
    if (!hot.empty()) {
      std::string warning;
      for (const std::string& h : hot) warning += (warning.empty() ? "" : "; ") + h;
      body["warning"] = warning + " (card_warn_celsius / card_fail_celsius)";
    }
    body["cards"] = cards;
    body["waiting"] = state.waiting;
    body["running"] = state.running;
    body["status"] = "ok";
    if (healthy == 0) {
      body["status"] = "unhealthy";
      body["reason"] = "no healthy card";
      status = 503;
    }
  }
  if (draining_) {
    body["status"] = "draining";
    body["reason"] = "the server is shutting down";
    status = 503;
  }
  res.status = status;
  res.set_content(DumpJson(body), kJson);
}

void HttpServer::HandleModels(const Request& req, Response& res) {
  Ready ready;
  {
    MutexLock lock(&mu_);
    ready = ready_;
  }
  nlohmann::json model = {{"id", model_name_}, {"object", "model"}, {"created", created_}, {"owned_by", "fpgaserve"}};
  if (ready.backend != nullptr) model["max_model_len"] = ready.backend->context_length();
  if (req.matches.size() > 1) {
    if (req.matches[1] != model_name_) {
      return SendError(res, ErrorFromStatus(Status::NotFound("The model '" + std::string(req.matches[1]) +
                                                             "' does not exist."),
                                            "model", "model_not_found"));
    }
    return res.set_content(DumpJson(model), kJson);
  }
  res.set_content(DumpJson({{"object", "list"}, {"data", nlohmann::json::array({model})}}), kJson);
}

void HttpServer::HandleTokenize(bool tokenize, const Request& req, Response& res) {
  Ready ready;
  if (!GetReady(res, &ready)) return;
  std::string param;
  Result<nlohmann::json> body = tokenize
                                    ? TokenizeBody(req.body, *ready.tokenizer, ready.backend->context_length(), &param)
                                    : DetokenizeBody(req.body, *ready.tokenizer, &param);
  if (!body.ok()) return SendError(res, ErrorFromStatus(body.status(), param));
  res.set_content(DumpJson(body.value()), kJson);
}

void HttpServer::HandleMetrics(Response& res) {
  res.set_content(prometheus::TextSerializer().Serialize(registry_->Collect()), "text/plain; version=0.0.4");
}

}  // namespace fpgaserve
