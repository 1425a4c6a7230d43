// HttpServer: the OpenAI-compatible HTTP front of fpgaserve (cpp-httplib underneath).
//
// Routes:
//   POST /v1/completions, /v1/chat/completions   generation (JSON or SSE)
//   GET  /v1/models, /v1/models/{id}             the served model
//   POST /tokenize, /detokenize                  llama.cpp / vLLM dialects (tokenize_api.h)
//   GET  /health                                 200 ready; 503 loading, draining or no healthy card
//   GET  /metrics                                Prometheus text of the shared registry
// Another method on a known path is 405; an unknown path 404; every error, httplib's own included, has
// the OpenAI error shape (api_error.h). With API keys configured every route except /health and /metrics
// needs "Authorization: Bearer <key>" (401 otherwise). CORS, when origins are configured, adds
// Access-Control-Allow-* headers for those origins and answers OPTIONS preflights with 204.
// One log line per request (id, method, path, status, latency, tokens, user) and the counters of
// http_metrics.h.
//
// Life cycle: construct; Bind(); Serve() on a thread of the caller's choice (it blocks); SetReady() once
// the model and cards are up (until then generation answers 503 "loading"); on SIGTERM StartDrain()
// (new generation requests and /health answer 503, running ones continue), then Stop() once
// in_flight() == 0 or the drain timeout passed: Stop() cancels what still runs, and Serve() returns once
// every connection thread has finished.
//
// Threading: SetReady, StartDrain, Stop and the accessors are thread-safe. The tokenizer and backend given
// to SetReady must outlive Serve()'s return.
#pragma once

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>

#include <httplib.h>
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

namespace fpgaserve {

// cpp-httplib 0.11 listens with a backlog of 5: a burst of connects (64 clients at once) overflows the
// accept queue, the kernel drops handshakes, and some clients get their connection reset mid-request.
// Linux lets listen() be called again on a listening socket to change the backlog; this does that.
class WideBacklogServer : public httplib::Server {
 public:
  // REQUIRES: bound. Returns false when listen() fails.
  bool WidenBacklog(int backlog) { return ::listen(svr_sock_, backlog) == 0; }
  // What httplib's stop() does, without its "is the accept loop running yet" check, which makes stop() a
  // no-op until listen_after_bind() has started on its thread: closes the listening socket, so the accept
  // loop ends if it runs, and listen_after_bind() returns at once if it starts later. Idempotent.
  void CloseListener() {
    const socket_t sock = svr_sock_.exchange(INVALID_SOCKET);
    if (sock == INVALID_SOCKET) return;
    ::shutdown(sock, SHUT_RDWR);
    ::close(sock);
  }
};

class HttpServer {
 public:
  // `registry` must outlive the server. `model_name` is the id clients use. `clock` times Stop's wait and the
  // SSE keep-alives (nullptr: RealClock()); it must outlive the server.
  HttpServer(const ServerConfig& config, std::string model_name, std::shared_ptr<prometheus::Registry> registry,
             Clock* clock = nullptr);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds config.host:config.port (port 0: any free port). Returns the port, or Unavailable.
  Result<int> Bind();
  // Serves until Stop(). REQUIRES: Bind() succeeded.
  void Serve();

  // `chat_template`, when given, renders chat requests instead of config.chat_template (a model's own
  // Jinja template: --chat-template-file, or the one a GGUF file carries when chat_template is auto).
  void SetReady(std::shared_ptr<const Tokenizer> tokenizer, Backend* backend,
                std::shared_ptr<const JinjaChatTemplate> chat_template = nullptr);
  void StartDrain();
  // Cancels every running generation request, waits up to 1 s of the clock's time for them to write their
  // last events (it returns as soon as none is left), then closes the listener: Serve() returns once the
  // connection threads have finished. Safe before Serve() has started (it then returns at once).
  void Stop() EXCLUDES(flight_mu_);

  bool draining() const { return draining_.load(); }
  // Generation requests still answering (streams included).
  int in_flight() const EXCLUDES(flight_mu_) {
    MutexLock lock(&flight_mu_);
    return in_flight_;
  }

 private:
  struct Ready {
    std::shared_ptr<const Tokenizer> tokenizer;
    Backend* backend = nullptr;
    std::shared_ptr<const JinjaChatTemplate> chat_template;  // null: the built-in chat_template_
  };

  void InstallRoutes();
  void HandleGenerate(ApiKind kind, const httplib::Request& req, httplib::Response& res);
  void HandleHealth(httplib::Response& res);
  void HandleModels(const httplib::Request& req, httplib::Response& res);
  void HandleTokenize(bool tokenize, const httplib::Request& req, httplib::Response& res);
  void HandleMetrics(httplib::Response& res);
  // Authentication and CORS, before routing. Handled when the request was answered (401, preflight).
  httplib::Server::HandlerResponse PreRoute(const httplib::Request& req, httplib::Response& res);
  // Fills in the OpenAI error body of answers httplib made itself (404, 413, 400).
  httplib::Server::HandlerResponse OnError(const httplib::Request& req, httplib::Response& res);
  void OnLogged(const httplib::Request& req, const httplib::Response& res);

  void SendError(httplib::Response& res, const ApiError& error);
  // The ready state, or an Unavailable status (loading or draining) already sent to res.
  bool GetReady(httplib::Response& res, Ready* ready);
  bool Authorized(const httplib::Request& req) const;

  // Counts a generation request in in_flight_ for its lifetime (its response finished or abandoned).
  class InFlight;

  // Constant after construction.
  const ServerConfig config_;
  Clock* const clock_;
  const std::string model_name_;
  const ChatTemplateKind chat_template_;
  const int64_t created_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::vector<std::string> api_keys_;  // config keys + api_key_file lines
  HttpMetrics metrics_;
  WideBacklogServer server_;

  Mutex mu_;
  Ready ready_ GUARDED_BY(mu_);
  std::atomic<bool> draining_{false};
  std::stop_source stopping_;  // requested by Stop(): every running CompletionRunner cancels its sequences

  mutable Mutex flight_mu_;
  std::condition_variable flight_done_;  // notified when in_flight_ drops to 0
  int in_flight_ GUARDED_BY(flight_mu_) = 0;
};

}  // namespace fpgaserve
