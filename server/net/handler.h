// Handler: the application's side of the transport (net::Listener calls it). Implemented by the layer above
// (server/http); the transport knows nothing of routes or of the OpenAI protocol.
// Called on the connection's strand, so one connection's calls never overlap, but different connections' calls
// run concurrently on the I/O threads: an implementation is thread-safe and must not block (a slow answer is
// given later, from any thread, through the Exchange). Must outlive every connection of the Listener (until
// Listener::Close() and the io_context's run have returned).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "server/net/exchange.h"

namespace fpgaserve::net {

class Handler {
 public:
  virtual ~Handler() = default;
  // One complete request. The handler answers it exactly once, now or later, from any thread, with
  // exchange->Reply or exchange->Stream. An Exchange released unanswered is answered 500 by the transport.
  virtual void Handle(std::shared_ptr<Exchange> exchange) = 0;
  // The body of the transport's own error answers (400 malformed, 408 request deadline, 413 body too large,
  // 431 headers too large, 500 unanswered, 503 over the connection cap), sent as application/json.
  virtual std::string ErrorBody(int status, std::string_view message) = 0;
};

}  // namespace fpgaserve::net
