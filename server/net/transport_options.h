// TransportOptions: the limits and deadlines of the HTTP/1.1 transport (net::Listener), one struct so that the
// application fills it from its configuration in one place. Plain values, copied into the Listener at
// construction; nothing here is read again afterwards.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace fpgaserve::net {

struct TransportOptions {
  std::string host = "127.0.0.1";  // an address or a name the resolver knows ("0.0.0.0", "::", "localhost")
  int port = 0;                    // 0: the kernel picks one (Listener::Bind returns it)
  // SO_REUSEPORT lets a second live process bind the same port and share its connections: only when asked.
  // SO_REUSEADDR (TIME_WAIT reuse after a restart) is always set; two live listeners still conflict.
  bool reuse_port = false;
  // I/O threads the owner runs the io_context on (net starts no thread of its own; the application's
  // Serve() runs io_context::run on this many threads). Any number of connections share them.
  int io_threads = 2;
  // Connections open at once; past it an accepted socket gets a prebuilt 503 and is closed (counted in
  // TransportMetrics::connections_rejected). Bind raises RLIMIT_NOFILE toward max_connections + 64.
  size_t max_connections = 10000;
  // A request's headers and body must arrive within this, counted from its first byte (not per read: a client
  // sending a header line every few hundred milliseconds is cut here). Expiry: 408 and close.
  std::chrono::milliseconds request_deadline{10'000};
  // Before a request's first byte (a new connection, or keep-alive between requests). Expiry: close.
  std::chrono::milliseconds idle_timeout{5'000};
  // A write that makes no progress for this long (the client stopped reading): close, closed() requested.
  std::chrono::milliseconds write_deadline{30'000};
  size_t header_limit = 8 * 1024;  // request line + headers; beyond: 431
  size_t body_limit = 1 << 20;     // request body; a larger Content-Length is 413 before the body is read
  // A stream pulls from its BodySource only while less than this is waiting to be written.
  size_t queued_bytes = 64 * 1024;
};

}  // namespace fpgaserve::net
