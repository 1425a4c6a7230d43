// GCC 12 reports false positives inside Boost once it inlines it (as in server/bench/http_target.cpp): a
// "potential null pointer dereference" in Asio's scheduler and "may be used uninitialized" in Beast's parser.
// Being in a system header does not silence middle-end warnings, so this file turns those two off, before
// its first include (its own header already brings Asio in). Clang (the thread-safety check) has neither.
#ifndef __clang__
#pragma GCC diagnostic ignored "-Wnull-dereference"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include "server/net/listener.h"

#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <string>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <spdlog/spdlog.h>

#include "base/log_line.h"
#include "base/open_file_limit.h"
#include "server/net/connection.h"

namespace fpgaserve::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// The acceptor and its retry timer, on their own strand; shared with the pending accept so that a Listener
// destroyed while an accept is pending leaves nothing dangling.
class ListenerCore : public std::enable_shared_from_this<ListenerCore> {
 public:
  ListenerCore(asio::io_context& io, TransportOptions options, Handler* handler)
      : io_(io),
        strand_(asio::make_strand(io)),
        acceptor_(strand_),
        retry_(strand_),
        shared_(std::make_shared<ConnectionShared>(std::move(options), handler)) {}

  Result<int> Bind();
  void Start();
  void Close();
  const TransportMetrics& metrics() const { return shared_->metrics; }

 private:
  void Accept();
  void OnAccept(const boost::system::error_code& error, tcp::socket socket);
  std::string Where() const;

  asio::io_context& io_;
  const asio::strand<asio::io_context::executor_type> strand_;
  tcp::acceptor acceptor_;
  asio::steady_timer retry_;
  const std::shared_ptr<ConnectionShared> shared_;
  bool closed_ = false;               // on strand_
  bool logged_out_of_files_ = false;  // on strand_
};

std::string ListenerCore::Where() const {
  const std::string& host = shared_->options.host;
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(shared_->options.port);
}

Result<int> ListenerCore::Bind() {
  const TransportOptions& options = shared_->options;
  const OpenFileLimit limit = RaiseOpenFileLimit(static_cast<long>(options.max_connections) + 64);
  if (!limit.warning.empty()) {
    spdlog::warn(LogLine("open-file limit below the connection cap",
                         {{"soft", limit.soft}, {"hard", limit.hard}, {"max_connections", options.max_connections}}));
  }

  boost::system::error_code error;
  tcp::endpoint endpoint;
  const asio::ip::address address = asio::ip::make_address(options.host, error);
  if (!error) {
    endpoint = tcp::endpoint(address, static_cast<unsigned short>(options.port));
  } else {
    tcp::resolver resolver(io_);  // synchronous: getaddrinfo on this thread, no resolver thread
    const auto results = resolver.resolve(options.host, std::to_string(options.port), tcp::resolver::passive, error);
    if (error || results.empty()) {
      return Status::InvalidArgument("cannot listen on " + Where() + ": the host does not resolve (" + error.message() +
                                     ")");
    }
    endpoint = results.begin()->endpoint();
  }

  acceptor_.open(endpoint.protocol(), error);
  if (!error) acceptor_.set_option(tcp::acceptor::reuse_address(true), error);
  if (!error && options.reuse_port) {
    const int on = 1;
    if (setsockopt(acceptor_.native_handle(), SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0) {
      error = boost::system::error_code(errno, boost::system::system_category());
    }
  }
  if (!error) acceptor_.bind(endpoint, error);
  if (!error) acceptor_.listen(asio::socket_base::max_listen_connections, error);
  if (error) {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    if (error == asio::error::address_in_use) {
      return Status::Unavailable("cannot listen on " + Where() + ": address in use");
    }
    if (error.value() == EADDRNOTAVAIL) {
      return Status::Unavailable("cannot listen on " + Where() + ": no such local address");
    }
    return Status::Unavailable("cannot listen on " + Where() + ": " + error.message());
  }
  return static_cast<int>(acceptor_.local_endpoint().port());
}

void ListenerCore::Start() {
  shared_->reject_response = [&] {
    const std::string body = shared_->handler->ErrorBody(503, "the server has too many open connections");
    return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\nRetry-After: 1\r\nConnection: close\r\n\r\n" + body;
  }();
  asio::post(strand_, [self = shared_from_this()] { self->Accept(); });
}

void ListenerCore::Close() {
  {
    MutexLock lock(&shared_->mu);
    shared_->closed = true;  // from here no connection registers (Connection::Start checks under this lock)
  }
  asio::post(strand_, [self = shared_from_this()] {
    self->closed_ = true;
    boost::system::error_code ignored;
    self->acceptor_.close(ignored);
    self->retry_.cancel();
    std::vector<std::shared_ptr<Connection>> open;
    {
      MutexLock lock(&self->shared_->mu);
      for (const auto& [raw, weak] : self->shared_->live) {
        if (auto connection = weak.lock()) open.push_back(std::move(connection));
      }
    }
    for (const auto& connection : open) connection->Close();
  });
}

void ListenerCore::Accept() {
  if (closed_) return;
  // Each connection gets its own strand: its handlers never overlap, different connections run in parallel.
  acceptor_.async_accept(asio::make_strand(io_),
                         [self = shared_from_this()](const boost::system::error_code& error, tcp::socket socket) {
                           self->OnAccept(error, std::move(socket));
                         });
}

void ListenerCore::OnAccept(const boost::system::error_code& error, tcp::socket socket) {
  if (closed_ || error == asio::error::operation_aborted) return;
  if (error) {
    if (error.value() == EMFILE || error.value() == ENFILE) {
      // Out of descriptors: retry shortly (connections close meanwhile), and say so once, not per attempt.
      if (!logged_out_of_files_) {
        logged_out_of_files_ = true;
        spdlog::error(
            LogLine("accept failed: out of file descriptors; retrying every 50 ms",
                    {{"error", error.message()}, {"connections_open", shared_->metrics.connections_open.load()}}));
      }
      retry_.expires_after(std::chrono::milliseconds(50));
      retry_.async_wait([self = shared_from_this()](const boost::system::error_code& e) {
        if (!e) self->Accept();
      });
      return;
    }
    Accept();  // a connection reset before it was accepted, and the like: the next one
    return;
  }
  const bool over = static_cast<size_t>(shared_->metrics.connections_open.load(std::memory_order_relaxed)) >=
                    shared_->options.max_connections;
  if (over) shared_->metrics.connections_rejected.fetch_add(1, std::memory_order_relaxed);
  auto connection = std::make_shared<Connection>(std::move(socket), shared_, over);
  if (!connection->Start()) return;  // closed meanwhile
  Accept();
}

Listener::Listener(asio::io_context& io, TransportOptions options, Handler* handler)
    : core_(std::make_shared<ListenerCore>(io, std::move(options), handler)) {}

Listener::~Listener() {
  try {
    Close();
  } catch (...) {
    // A lock or an allocation failed: nothing to do in a destructor; the io_context's end closes the sockets.
  }
}

Result<int> Listener::Bind() { return core_->Bind(); }

void Listener::Start() { core_->Start(); }

void Listener::Close() { core_->Close(); }

const TransportMetrics& Listener::metrics() const { return core_->metrics(); }

}  // namespace fpgaserve::net
