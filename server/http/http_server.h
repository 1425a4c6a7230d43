// HttpServer: the OpenAI-compatible HTTP front of fpgaserve: the application over the transport
// (server/net: HTTP/1.1 on Boost.Beast, a few I/O threads for any number of connections) and the protocol
// (server/api: requests, responses, SSE, chat templates).
//
// Routes (router.h):
//   POST /v1/completions, /v1/chat/completions   generation (JSON or SSE)
//   GET  /v1/models, /v1/models/{id}             the served model
//   POST /tokenize, /detokenize                  llama.cpp / vLLM dialects (tokenize_api.h)
//   GET  /health                                 200 ready; 503 loading, draining or no healthy card
//   GET  /metrics                                Prometheus text of the shared registry
// Another method on a known path is 405 with Allow; an unknown path 404; every error, the transport's own
// (400, 408, 413, 431, the connection cap's 503) included, has the OpenAI error shape (api_error.h). With API
// keys configured every route except /health and /metrics needs "Authorization: Bearer <key>" (401
// otherwise). CORS, when origins are configured, adds Access-Control-Allow-* headers for those origins and
// answers OPTIONS preflights with 204. One log line per request (id, method, path, status, latency, tokens,
// user), the counters of http_metrics.h and the transport's (connections, rejections, deadline expiries).
//
// Where the work runs: routing, /health, /metrics, /v1/models and every write on the I/O threads, none of
// which ever waits; parsing a generation request, rendering its chat template and tokenizing (a template may
// take a few hundred ms) on the preparation threads, at most max_queue requests at once (429 beyond); the
// model on the engine's threads, which wake a stream's connection when a token arrives (RequestEvents ->
// CompletionRunner::SetWake -> net::Exchange::Wake). A stream's bytes are pulled on its connection's strand.
//
// Life cycle: construct; Bind(); Serve() on a thread of the caller's choice (it blocks, and runs the I/O
// threads); SetReady() once the model and cards are up (until then generation answers 503 "loading"); on
// SIGTERM StartDrain() (new generation requests and /health answer 503, running ones continue), then Stop()
// once in_flight() == 0 or the drain timeout passed: Stop() cancels what still runs, waits up to 1 s of the
// clock for the cancelled answers to be written, then closes every connection, and Serve() returns.
//
// Threading: SetReady, StartDrain, Stop and the accessors are thread-safe. The tokenizer and backend given
// to SetReady must outlive Serve()'s return.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <prometheus/registry.h>

#include "base/clock.h"
#include "base/mutex.h"
#include "server/api/api_error.h"
#include "server/api/backend.h"
#include "server/api/chat_template.h"
#include "server/api/jinja_chat.h"
#include "server/api/openai_request.h"
#include "server/http/http_metrics.h"
#include "server/http/server_config.h"
#include "server/net/handler.h"
#include "server/net/listener.h"

namespace fpgaserve {

class CompletionRunner;

class HttpServer : private net::Handler {
 public:
  // `registry` must outlive the server. `model_name` is the id clients use. `clock` times Stop's wait and the
  // SSE keep-alives (nullptr: RealClock()); it must outlive the server.
  HttpServer(const ServerConfig& config, std::string model_name, std::shared_ptr<prometheus::Registry> registry,
             Clock* clock = nullptr);
  ~HttpServer() override;
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds config.host:config.port (port 0: any free port). Returns the port, or Unavailable ("... address in
  // use" when another socket holds it; SO_REUSEPORT only with http_reuse_port).
  Result<int> Bind();
  // Serves on config.http_threads I/O threads (this one among them) until Stop(). REQUIRES: Bind() succeeded.
  void Serve();

  // `chat_template`, when given, renders chat requests instead of config.chat_template (a model's own
  // Jinja template: --chat-template-file, or the one a GGUF file carries when chat_template is auto).
  void SetReady(std::shared_ptr<const Tokenizer> tokenizer, Backend* backend,
                std::shared_ptr<const JinjaChatTemplate> chat_template = nullptr);
  void StartDrain();
  // Cancels every running generation request, waits up to 1 s of the clock's time for them to write their
  // last events (it returns as soon as none is left), then closes the listener and every connection:
  // Serve() returns. Safe before Serve() has started (Serve() then returns at once). Idempotent.
  void Stop() EXCLUDES(flight_mu_);

  bool draining() const { return draining_.load(); }
  // Generation requests still answering (streams included), from their submission to their last byte.
  int in_flight() const EXCLUDES(flight_mu_) {
    MutexLock lock(&flight_mu_);
    return static_cast<int>(flight_.size());
  }

 private:
  struct Ready {
    std::shared_ptr<const Tokenizer> tokenizer;
    Backend* backend = nullptr;
    std::shared_ptr<const JinjaChatTemplate> chat_template;  // null: the built-in chat_template_
  };
  struct Exchange;  // one request being answered: the transport's end, its log record, CORS headers
  using ExchangePtr = std::shared_ptr<Exchange>;
  class SseBody;     // a streamed completion as the transport's BodySource
  class CollectJob;  // a non-streamed completion, answered when its last choice ends
  class InFlight;    // a generation request in flight_ for its lifetime, cancelled on Stop or client gone

  // net::Handler, on the connection's strand.
  void Handle(std::shared_ptr<net::Exchange> exchange) override;
  std::string ErrorBody(int status, std::string_view message) override;

  // Runs `work` on the preparation threads, or answers 429 when max_queue requests already wait there.
  void Prepare(const ExchangePtr& ex, std::function<void()> work);
  void HandleGenerate(ApiKind kind, const ExchangePtr& ex);
  // The part of a generation request that runs on the preparation threads.
  void Generate(ApiKind kind, const ExchangePtr& ex, const Ready& ready);
  void HandleHealth(const ExchangePtr& ex);
  void HandleModels(const ExchangePtr& ex, const std::string& model_id);
  void HandleTokenize(bool tokenize, const ExchangePtr& ex);
  void HandleMetrics(const ExchangePtr& ex);
  // Answers `ex` (CORS headers added), logs it and counts it.
  void Reply(const ExchangePtr& ex, int status, std::string body, std::string_view content_type,
             std::vector<std::pair<std::string, std::string>> headers = {});
  void SendError(const ExchangePtr& ex, const ApiError& error,
                 std::vector<std::pair<std::string, std::string>> headers = {});
  // The log line and the request metrics of an answered exchange (streams: when their last byte is out).
  void LogRequest(const Exchange& ex, int status);
  // The ready state, or false with an Unavailable answer (loading or draining) already sent.
  bool GetReady(const ExchangePtr& ex, Ready* ready);
  bool Authorized(const net::Request& req) const;
  // Every few seconds: after a burst of connections has closed, gives the freed memory back to the system.
  void ScheduleTrim(uint64_t connections_at_last_trim);
  // Clears the wake-up of every runner still alive (none calls into the I/O threads afterwards).
  void DetachRunners() EXCLUDES(flight_mu_);

  // Constant after construction.
  const ServerConfig config_;
  Clock* const clock_;
  const std::string model_name_;
  const ChatTemplateKind chat_template_;
  const int64_t created_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::vector<std::string> api_keys_;  // config keys + api_key_file lines
  HttpMetrics metrics_;

  Mutex mu_;
  Ready ready_ GUARDED_BY(mu_);
  std::atomic<bool> draining_{false};
  std::atomic<bool> stopped_{false};  // Stop() has begun
  std::stop_source stopping_;         // requested by Stop(): every running CompletionRunner cancels its sequences
  std::atomic<int> preparing_{0};     // requests posted to prep_ and not yet taken up

  mutable Mutex flight_mu_;
  std::condition_variable flight_done_;  // notified when flight_ becomes empty
  uint64_t next_flight_ GUARDED_BY(flight_mu_) = 0;
  // Every generation request from its submission until its answer is written or abandoned.
  std::map<uint64_t, std::weak_ptr<CompletionRunner>> flight_ GUARDED_BY(flight_mu_);

  // Declared last, destroyed first: the connections the io_context still holds, and the jobs of the
  // preparation threads, call into everything above.
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;  // until Stop
  std::unique_ptr<net::Listener> listener_;
  // The trim timer's handlers and Stop's cancel run on one strand (the I/O threads are several).
  boost::asio::strand<boost::asio::io_context::executor_type> trim_strand_{io_.get_executor()};
  boost::asio::steady_timer trim_timer_{trim_strand_};
  boost::asio::thread_pool prep_;  // parsing, templates, tokenizing: off the I/O threads
};

}  // namespace fpgaserve
