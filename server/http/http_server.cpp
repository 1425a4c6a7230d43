#include "server/http/http_server.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/post.hpp>
#include <malloc.h>
#include <prometheus/text_serializer.h>
#include <spdlog/spdlog.h>

#include "base/log_line.h"
#include "server/api/completion_runner.h"
#include "server/api/openai_response.h"
#include "server/api/request_preparer.h"
#include "server/api/tokenize_api.h"
#include "server/http/router.h"
#include "server/net/body_source.h"
#include "server/net/exchange.h"

namespace fpgaserve {
namespace {

using Steady = std::chrono::steady_clock;
using Headers = std::vector<std::pair<std::string, std::string>>;

const char* const kJson = "application/json";

bool NeedsAuth(std::string_view path) { return path != "/health" && path != "/metrics"; }

// Equal strings in time independent of where they differ (API keys).
bool SameKey(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

// The transport's options from the server's configuration.
net::TransportOptions TransportOptionsOf(const ServerConfig& c) {
  net::TransportOptions o;
  o.host = c.host;
  o.port = c.port;
  o.reuse_port = c.http_reuse_port != 0;
  o.io_threads = c.http_threads;
  o.max_connections = static_cast<size_t>(c.max_connections);
  o.request_deadline = std::chrono::seconds(c.http_read_timeout_s);
  o.idle_timeout = std::chrono::seconds(c.http_keep_alive_timeout_s);
  o.write_deadline = std::chrono::seconds(c.http_write_timeout_s);
  o.header_limit = static_cast<size_t>(c.max_header_bytes);
  o.body_limit = static_cast<size_t>(c.max_body_bytes);
  return o;
}

// More I/O threads than this many per core only add switching: a thread never waits on a client.
int IoThreads(int configured) {
  const int cap = 4 * static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (configured <= cap) return configured;
  spdlog::info(LogLine("http_threads is the number of I/O threads; more than 4 a core is not used",
                       {{"configured", configured}, {"used", cap}}));
  return cap;
}

}  // namespace

// One request being answered, from routing to its log line.
struct HttpServer::Exchange {
  std::shared_ptr<net::Exchange> net;
  const net::Request& request() const { return net->request(); }
  Steady::time_point start = Steady::now();
  const char* label = "other";  // the endpoint label of the request metrics
  Headers cors;                 // added to every answer
  std::string id;
  std::string user;
  std::string error_type;
  int prompt_tokens = -1;
  int completion_tokens = -1;

  // The tokens a generation used, for the log line.
  void RecordUsage(const CompletionRunner& runner) {
    prompt_tokens = runner.usage().prompt_tokens;
    completion_tokens = runner.usage().completion_tokens;
  }
};

// A generation request in flight, for its holder's lifetime: registered in flight_, and cancelled when the
// server stops or its client goes (the exchange's closed()).
class HttpServer::InFlight {
 public:
  InFlight(HttpServer* server, const std::shared_ptr<CompletionRunner>& runner, const Exchange& ex)
      : server_(server),
        on_stop_(server->stopping_.get_token(), [r = runner.get()] { r->CancelAll(); }),
        on_closed_(ex.net->closed(), [r = runner.get()] { r->CancelAll(); }) {
    MutexLock lock(&server_->flight_mu_);
    key_ = server_->next_flight_++;
    server_->flight_[key_] = runner;
  }
  ~InFlight() {
    MutexLock lock(&server_->flight_mu_);
    server_->flight_.erase(key_);
    if (server_->flight_.empty()) server_->flight_done_.notify_all();
  }
  InFlight(const InFlight&) = delete;
  InFlight& operator=(const InFlight&) = delete;

 private:
  HttpServer* const server_;
  const std::stop_callback<std::function<void()>> on_stop_;
  const std::stop_callback<std::function<void()>> on_closed_;
  uint64_t key_ = 0;
};

// A streamed completion as the transport pulls it. Owned by the transport for the stream's life; the runner
// wakes the connection when an event arrives. Cancelled when the client goes, a deadline expires or the
// server stops. Logged when destroyed (the stream ended or was abandoned).
class HttpServer::SseBody : public net::BodySource {
 public:
  SseBody(HttpServer* server, ExchangePtr ex, std::shared_ptr<CompletionRunner> runner)
      : server_(server),
        ex_(std::move(ex)),
        runner_(std::move(runner)),
        flight_(server, runner_, *ex_),
        keepalive_(std::chrono::milliseconds(static_cast<int64_t>(server->config_.sse_keepalive_s * 1000))) {
    // The wake-up holds the exchange weakly: the engine's thread must never own (and so destroy) it.
    std::weak_ptr<net::Exchange> weak = ex_->net;
    runner_->SetWake([weak] {
      if (auto e = weak.lock()) e->Wake();
    });
  }
  ~SseBody() override {
    runner_->SetWake(nullptr);
    try {
      ex_->RecordUsage(*runner_);
      if (!runner_->error().ok()) ex_->error_type = ErrorFromStatus(runner_->error()).type;
      server_->LogRequest(*ex_, 200);
    } catch (...) {
      // Out of memory building the log line: the line is lost, the daemon goes on (no terminate).
    }
  }
  SseBody(const SseBody&) = delete;
  SseBody& operator=(const SseBody&) = delete;

  net::PullResult Pull(Steady::time_point now, size_t max_bytes, std::string* out) override {
    // The runner counts keep-alives on the server's clock (a FakeClock in tests); the transport's timers on
    // the steady clock. Both advance together in production, where the clock is the steady clock.
    const Clock::TimePoint clock_now = server_->clock_->Now();
    CompletionRunner::SsePull pull;
    try {
      pull = runner_->PullSse(clock_now, max_bytes, out, keepalive_);
    } catch (const std::exception& e) {  // on an I/O thread: end this stream, not the process
      spdlog::error(LogLine("stream failed", {{"id", ex_->id}, {"error", e.what()}}));
      runner_->CancelAll();
      return net::PullResult{net::PullState::kEnd, Steady::time_point::max()};
    }
    net::PullResult result;
    switch (pull.state) {
      case CompletionRunner::PullState::kMore: result.state = net::PullState::kMore; break;
      case CompletionRunner::PullState::kEnd: result.state = net::PullState::kEnd; break;
      case CompletionRunner::PullState::kWait:
        result.state = net::PullState::kWait;
        result.wake_at = pull.wake_at == Clock::TimePoint::max() ? Steady::time_point::max()
                                                                 : now + (pull.wake_at - clock_now);
        break;
    }
    return result;
  }

 private:
  HttpServer* const server_;
  const ExchangePtr ex_;
  const std::shared_ptr<CompletionRunner> runner_;
  const InFlight flight_;
  const std::chrono::milliseconds keepalive_;
};

// A non-streamed completion: polled on the I/O threads each time an event arrives, answered once every
// choice has ended. Owned by its runner's wake-up (a cycle, broken when it answers, or by DetachRunners).
class HttpServer::CollectJob : public std::enable_shared_from_this<HttpServer::CollectJob> {
 public:
  CollectJob(HttpServer* server, ExchangePtr ex, std::shared_ptr<CompletionRunner> runner)
      : server_(server),
        ex_(std::move(ex)),
        runner_(std::move(runner)),
        flight_(server, runner_, *ex_),
        strand_(boost::asio::make_strand(server->io_)) {}

  void Start() {
    auto self = shared_from_this();
    runner_->SetWake([self] { self->Post(); });
    Post();  // events may have arrived before the wake-up was set
  }

 private:
  // Called by the engine's threads with RequestEvents' lock held: only an atomic and a post.
  void Post() {
    if (pending_.exchange(true)) return;
    boost::asio::post(strand_, [self = shared_from_this()] { self->Poll(); });
  }
  // On strand_: one Poll at a time (a wake-up may post the next while this one runs).
  void Poll() {
    pending_ = false;
    if (answered_) return;
    std::optional<Result<nlohmann::json>> body;
    try {
      body = runner_->PollCollect();
    } catch (const std::exception& e) {
      body = Result<nlohmann::json>(Status::Internal(std::string("internal error: ") + e.what()));
    }
    if (!body) return;
    answered_ = true;
    ex_->RecordUsage(*runner_);
    if (!body->ok()) {
      server_->SendError(ex_, ErrorFromStatus(body->status()));
    } else {
      server_->Reply(ex_, 200, DumpJson(body->value()), kJson);
    }
    runner_->SetWake(nullptr);  // drops the wake-up's reference: this job ends with the posted handler
  }

  HttpServer* const server_;
  const ExchangePtr ex_;
  const std::shared_ptr<CompletionRunner> runner_;
  const InFlight flight_;
  const boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  std::atomic<bool> pending_{false};
  bool answered_ = false;  // only touched by Poll, on strand_
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
      metrics_(*registry_, model_name_),
      work_(boost::asio::make_work_guard(io_)),
      prep_(static_cast<size_t>(std::max(1, std::min(config.http_threads, 2)))) {
  net::TransportOptions options = TransportOptionsOf(config_);
  options.io_threads = IoThreads(config_.http_threads);
  listener_ = std::make_unique<net::Listener>(io_, options, static_cast<net::Handler*>(this));
}

HttpServer::~HttpServer() {
  try {
    Stop();
    prep_.join();
    DetachRunners();
  } catch (...) {
    // Only a failed lock or an allocation can throw here; the members' destructors still stop what runs.
  }
}

Result<int> HttpServer::Bind() { return listener_->Bind(); }

void HttpServer::Serve() {
  if (stopped_) return;
  listener_->Start();
  ScheduleTrim(0);
  std::vector<std::thread> threads;
  const int n = IoThreads(config_.http_threads);
  for (int i = 1; i < n; ++i) threads.emplace_back([this] { io_.run(); });
  io_.run();
  for (std::thread& t : threads) t.join();
  // A request still being prepared uses the backend, which the caller may destroy once this returns.
  prep_.join();
  // No I/O thread runs now: a runner that outlives this (its sequences still ending in the engine) must not
  // post to it.
  DetachRunners();
}

// Thousands of connections that came and went leave their buffers in glibc's per-thread arenas, which keep
// freed memory for reuse: after a burst of 10,000 streams the daemon would stay ~100 MB above where it was.
// So when at least 1,000 connections were accepted since the last look and fewer than half of them are
// still open, malloc_trim returns the free pages (a few ms for a heap of that size, at most every 5 s).
void HttpServer::ScheduleTrim(uint64_t connections_at_last_trim) {
  trim_timer_.expires_after(std::chrono::seconds(5));
  trim_timer_.async_wait([this, connections_at_last_trim](const boost::system::error_code& error) {
    if (error || stopped_) return;
    const net::TransportMetrics& m = listener_->metrics();
    const uint64_t total = m.connections_total.load();
    const uint64_t burst = total - connections_at_last_trim;
    if (burst >= 1000 && static_cast<uint64_t>(std::max<int64_t>(0, m.connections_open.load())) < burst / 2) {
      malloc_trim(0);
      return ScheduleTrim(total);
    }
    ScheduleTrim(connections_at_last_trim);
  });
}

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
  if (stopped_.exchange(true)) return;
  draining_ = true;
  stopping_.request_stop();  // runners cancel their sequences and send the error event
  {
    // Give the cancelled answers a moment to be written before the connections close.
    MutexLock lock(&flight_mu_);
    clock_->WaitFor(lock.native(), flight_done_, std::chrono::seconds(1), [&] {
      flight_mu_.AssertHeld();
      return flight_.empty();
    });
  }
  listener_->Close();  // the acceptor and every connection: run() returns once their handlers have ended
  boost::asio::post(trim_strand_, [this] { trim_timer_.cancel(); });
  work_.reset();
}

void HttpServer::DetachRunners() {
  std::vector<std::shared_ptr<CompletionRunner>> alive;
  {
    MutexLock lock(&flight_mu_);
    for (const auto& [key, weak] : flight_) {
      if (auto runner = weak.lock()) alive.push_back(std::move(runner));
    }
  }
  for (const auto& runner : alive) runner->SetWake(nullptr);
}

std::string HttpServer::ErrorBody(int status, std::string_view message) {
  ApiError e;
  switch (status) {
    case 413: e = BodyTooLargeError(static_cast<size_t>(config_.max_body_bytes)); break;
    case 503: e = {503, std::string(message), "server_error", "", "service_unavailable"}; break;
    default: e = {status, std::string(message), status < 500 ? "invalid_request_error" : "server_error", "", ""};
  }
  metrics_.CountError(e.type);
  return e.Body();
}

void HttpServer::Handle(std::shared_ptr<net::Exchange> net_exchange) {
  auto ex = std::make_shared<Exchange>();
  ex->net = std::move(net_exchange);
  const net::Request& req = ex->request();
  const Route route = FindRoute(req.method, req.path);
  ex->label = route.label;

  // CORS, then authentication, before routing.
  const std::string_view origin = req.header("Origin");
  bool cors = false;
  if (!origin.empty()) {
    for (const std::string& allowed : config_.cors_origins) cors = cors || allowed == "*" || allowed == origin;
  }
  if (cors) {
    ex->cors = {{"Access-Control-Allow-Origin", std::string(origin)}, {"Vary", "Origin"}};
    if (req.method == "OPTIONS") {
      const std::string_view asked = req.header("Access-Control-Request-Headers");
      return Reply(ex, 204, "", "",
                   {{"Access-Control-Allow-Methods", "GET, POST, OPTIONS"},
                    {"Access-Control-Allow-Headers",
                     asked.empty() ? std::string("Authorization, Content-Type") : std::string(asked)},
                    {"Access-Control-Max-Age", "600"}});
    }
  }
  if (NeedsAuth(req.path) && req.method != "OPTIONS" && !Authorized(req)) return SendError(ex, InvalidApiKeyError());

  switch (route.id) {
    case RouteId::kCompletions: return HandleGenerate(ApiKind::kCompletion, ex);
    case RouteId::kChatCompletions: return HandleGenerate(ApiKind::kChat, ex);
    case RouteId::kModels: return HandleModels(ex, route.model_id);
    case RouteId::kTokenize: return HandleTokenize(true, ex);
    case RouteId::kDetokenize: return HandleTokenize(false, ex);
    case RouteId::kHealth: return HandleHealth(ex);
    case RouteId::kMetrics: return HandleMetrics(ex);
    case RouteId::kMethodNotAllowed: {
      Headers headers;
      if (*route.allow != '\0') headers.emplace_back("Allow", route.allow);
      return SendError(ex, MethodNotAllowedError(req.method, req.path), std::move(headers));
    }
    case RouteId::kNotFound: return SendError(ex, RouteNotFoundError(req.method, req.path));
  }
}

bool HttpServer::Authorized(const net::Request& req) const {
  if (api_keys_.empty()) return true;
  const std::string_view header = req.header("Authorization");
  const std::string_view prefix = "Bearer ";
  if (header.substr(0, prefix.size()) != prefix) return false;
  const std::string_view key = header.substr(prefix.size());
  bool ok = false;
  for (const std::string& k : api_keys_) ok = SameKey(k, key) || ok;
  return ok;
}

void HttpServer::Reply(const ExchangePtr& ex, int status, std::string body, std::string_view content_type,
                       Headers headers) {
  net::Response res;
  res.status = status;
  res.body = std::move(body);
  res.content_type = std::string(content_type);
  res.headers = std::move(headers);
  res.headers.insert(res.headers.end(), ex->cors.begin(), ex->cors.end());
  ex->net->Reply(std::move(res));
  LogRequest(*ex, status);
}

void HttpServer::SendError(const ExchangePtr& ex, const ApiError& error, Headers headers) {
  if (error.http_status == 429) headers.emplace_back("Retry-After", std::to_string(config_.retry_after_s));
  ex->error_type = error.type;
  Reply(ex, error.http_status, error.Body(), kJson, std::move(headers));
}

void HttpServer::LogRequest(const Exchange& ex, int status) {
  const net::Request& req = ex.request();
  const double ms = std::chrono::duration<double, std::milli>(Steady::now() - ex.start).count();
  nlohmann::json fields = {{"method", req.method},
                           {"path", req.path},
                           {"status", status},
                           {"latency_ms", std::round(ms * 10) / 10}};
  if (!ex.id.empty()) fields["id"] = ex.id;
  if (ex.prompt_tokens >= 0) fields["prompt_tokens"] = ex.prompt_tokens;
  if (ex.completion_tokens >= 0) fields["completion_tokens"] = ex.completion_tokens;
  if (!ex.user.empty()) fields["user"] = ex.user;
  if (!ex.error_type.empty()) fields["error"] = ex.error_type;
  // Probes and scrapes would drown the log at info.
  const bool routine = (req.path == "/health" || req.path == "/metrics") && status < 400;
  spdlog::log(routine ? spdlog::level::debug : spdlog::level::info, LogLine("request", fields));
  metrics_.CountRequest(ex.label, status);
  if (status >= 400) metrics_.CountError(ex.error_type.empty() ? "unknown" : ex.error_type);
}

bool HttpServer::GetReady(const ExchangePtr& ex, Ready* ready) {
  {
    MutexLock lock(&mu_);
    *ready = ready_;
  }
  if (draining_) {
    SendError(ex, ErrorFromStatus(Status::Unavailable("The server is shutting down; retry on another instance."), "",
                                  "draining"));
    return false;
  }
  if (ready->backend == nullptr) {
    SendError(ex, ErrorFromStatus(Status::Unavailable("The model is still loading; retry shortly."), "", "loading"));
    return false;
  }
  return true;
}

void HttpServer::Prepare(const ExchangePtr& ex, std::function<void()> work) {
  // The preparation threads hold no more requests than the engine's queue would: past that the server is
  // overloaded the same way, and says so the same way.
  if (preparing_.fetch_add(1) >= config_.max_queue) {
    preparing_--;
    return SendError(ex, ErrorFromStatus(
                             Status::ResourceExhausted("The server is busy preparing other requests; retry shortly.")));
  }
  boost::asio::post(prep_, [this, ex, work = std::move(work)] {
    preparing_--;
    try {
      work();
    } catch (const std::exception& e) {  // an exception escaping a pool thread would end the process
      SendError(ex, ErrorFromStatus(Status::Internal(std::string("internal error: ") + e.what())));
    }
  });
}

void HttpServer::HandleGenerate(ApiKind kind, const ExchangePtr& ex) {
  Ready ready;
  if (!GetReady(ex, &ready)) return;
  Prepare(ex, [this, kind, ex, ready] { Generate(kind, ex, ready); });
}

void HttpServer::Generate(ApiKind kind, const ExchangePtr& ex, const Ready& ready) {
  if (ex->net->closed().stop_requested()) return LogRequest(*ex, 499);  // the client left while it waited
  if (stopped_) {
    return SendError(ex, ErrorFromStatus(Status::Unavailable("The server is shutting down; retry on another instance."),
                                         "", "draining"));
  }
  std::string param;
  Result<OpenAiRequest> parsed = ParseOpenAiRequest(kind, ex->request().body, RequestLimits{config_.max_n}, &param);
  if (!parsed.ok()) return SendError(ex, ErrorFromStatus(parsed.status(), param));
  OpenAiRequest& request = parsed.value();
  ex->user = request.user;
  if (!request.model.empty() && request.model != model_name_) {
    return SendError(ex,
                     ErrorFromStatus(Status::NotFound("The model '" + request.model +
                                                      "' does not exist; this server serves '" + model_name_ + "'."),
                                     "model", "model_not_found"));
  }
  ResponseMeta meta{kind, NewResponseId(kind), static_cast<int64_t>(std::time(nullptr)), model_name_};
  ex->id = meta.id;
  PrepareOptions options{chat_template_,
                         config_.default_max_tokens,
                         config_.max_tokens_limit,
                         std::chrono::milliseconds(static_cast<int64_t>(config_.request_timeout_s * 1000)),
                         ready.chat_template,
                         clock_};
  Result<PreparedRequest> prepared = PrepareRequest(request, *ready.tokenizer, ready.backend->context_length(), options,
                                                    meta.id, &param);
  if (!prepared.ok()) return SendError(ex, ErrorFromStatus(prepared.status(), param));

  const bool stream = request.stream;
  auto runner = std::make_shared<CompletionRunner>(meta, std::move(request), std::move(prepared.value()),
                                                   ready.tokenizer, clock_);
  if (Status st = runner->Submit(*ready.backend); !st.ok()) return SendError(ex, ErrorFromStatus(st));

  if (!stream) {
    std::make_shared<CollectJob>(this, ex, std::move(runner))->Start();
    return;
  }
  net::ResponseHead head;
  head.status = 200;
  head.content_type = "text/event-stream";
  head.headers = {{"Cache-Control", "no-cache"}};
  head.headers.insert(head.headers.end(), ex->cors.begin(), ex->cors.end());
  ex->net->Stream(std::move(head), std::make_shared<SseBody>(this, ex, std::move(runner)));
}

void HttpServer::HandleHealth(const ExchangePtr& ex) {
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
  Reply(ex, status, DumpJson(body), kJson);
}

void HttpServer::HandleModels(const ExchangePtr& ex, const std::string& model_id) {
  Ready ready;
  {
    MutexLock lock(&mu_);
    ready = ready_;
  }
  nlohmann::json model = {{"id", model_name_}, {"object", "model"}, {"created", created_}, {"owned_by", "fpgaserve"}};
  if (ready.backend != nullptr) model["max_model_len"] = ready.backend->context_length();
  if (!model_id.empty()) {
    if (model_id != model_name_) {
      return SendError(ex, ErrorFromStatus(Status::NotFound("The model '" + model_id + "' does not exist."), "model",
                                           "model_not_found"));
    }
    return Reply(ex, 200, DumpJson(model), kJson);
  }
  Reply(ex, 200, DumpJson({{"object", "list"}, {"data", nlohmann::json::array({model})}}), kJson);
}

void HttpServer::HandleTokenize(bool tokenize, const ExchangePtr& ex) {
  Ready ready;
  if (!GetReady(ex, &ready)) return;
  Prepare(ex, [this, tokenize, ex, ready] {
    std::string param;
    const std::string& text = ex->request().body;
    Result<nlohmann::json> body = tokenize
                                      ? TokenizeBody(text, *ready.tokenizer, ready.backend->context_length(), &param)
                                      : DetokenizeBody(text, *ready.tokenizer, &param);
    if (!body.ok()) return SendError(ex, ErrorFromStatus(body.status(), param));
    Reply(ex, 200, DumpJson(body.value()), kJson);
  });
}

void HttpServer::HandleMetrics(const ExchangePtr& ex) {
  metrics_.Export(listener_->metrics());
  Reply(ex, 200, prometheus::TextSerializer().Serialize(registry_->Collect()), "text/plain; version=0.0.4");
}

}  // namespace fpgaserve
