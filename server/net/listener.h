// Listener: the HTTP/1.1 transport's front door (Boost.Asio/Beast, event-driven). It accepts connections on
// the io_context it is given; each connection runs on its own strand of that io_context through the states
//   Idle -> Reading -> Handling -> Responding | Streaming -> Idle (keep-alive) | Lingering -> Closed
// with one deadline timer re-armed per phase (idle, request, write; TransportOptions), and hands every complete
// request to the Handler as an Exchange. net starts no thread: the owner runs io_context::run on as many
// threads as it likes (TransportOptions::io_threads); any number of connections share them.
//
// Thread-safety: Bind and Start from one thread, before the io_context runs (or while it runs; they do not
// race with each other). Close from any thread, any number of times. metrics() from any thread.
// Lifetime: the Handler outlives every connection, i.e. until Close() has been called and the io_context's run
// has returned (or the io_context is destroyed). Destroy the Listener before its io_context. The destructor
// calls Close().
#pragma once

#include <memory>

#include <boost/asio/io_context.hpp>

#include "base/status.h"
#include "server/net/handler.h"
#include "server/net/transport_metrics.h"
#include "server/net/transport_options.h"

namespace fpgaserve::net {

class ListenerCore;

class Listener {
 public:
  // `handler` is not owned (see the lifetime above).
  Listener(boost::asio::io_context& io, TransportOptions options, Handler* handler);
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // Raises the RLIMIT_NOFILE soft limit toward max_connections + 64 (logs a warning when the hard limit is
  // lower), then opens, binds and listens. Returns the port (the kernel's pick when options.port is 0).
  // Errors (Unavailable): "cannot listen on H:P: address in use" when another socket holds the port (also
  // another process of ours: SO_REUSEPORT is set only with reuse_port), "...: no such local address" for an
  // address this machine does not have; InvalidArgument for a host that does not resolve.
  // REQUIRES: called at most once, before Start.
  Result<int> Bind();
  // Starts accepting (posted to the io_context). Over max_connections an accepted socket gets a prebuilt 503
  // (Connection: close, Retry-After: 1, body Handler::ErrorBody(503, ...)) within a 1 s deadline and is closed.
  // Out of descriptors (EMFILE/ENFILE): logged once, accept retried every 50 ms.
  // REQUIRES: Bind() succeeded.
  void Start();
  // Stops accepting and closes every connection (each Exchange's closed() is requested). Posted: returns at
  // once; the io_context's run returns when the closes are done and nothing else of the owner's is pending.
  void Close();

  const TransportMetrics& metrics() const;

 private:
  std::shared_ptr<ListenerCore> core_;
};

}  // namespace fpgaserve::net
