// Exchange: one request's answering end, handed to Handler::Handle. Shared (shared_ptr): the application may
// keep it past Handle and answer from any thread; it may outlive its connection (every method then does
// nothing, and closed() is requested).
//
// Thread-safety: every method may be called from any thread, concurrently. Reply/Stream post the answer to
// the connection's strand; nothing runs inline in the caller.
// Lifetime: Reply or Stream once (a second answer is ignored). Released unanswered while the connection is
// open: the transport answers 500. Wake() after the connection closed is a no-op that touches only this
// object.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <stop_token>

#include "server/net/body_source.h"
#include "server/net/request.h"
#include "server/net/response.h"

namespace fpgaserve::net {

class Connection;

class Exchange : public std::enable_shared_from_this<Exchange> {
 public:
  Exchange(const Exchange&) = delete;
  Exchange& operator=(const Exchange&) = delete;
  ~Exchange();

  const Request& request() const { return request_; }

  // The whole answer. Once (with Stream); later calls are ignored.
  void Reply(Response response);
  // A streamed answer: the head now, then the body pulled from `source` on the connection's strand while less
  // than TransportOptions::queued_bytes waits to be written, each pull's bytes one chunk (chunked transfer
  // encoding; an HTTP/1.0 client gets the raw bytes and the connection closes at the end). For HEAD only the
  // head is written and `source` is never pulled. Once (with Reply); later calls are ignored.
  void Stream(ResponseHead head, std::shared_ptr<BodySource> source);
  // The source has more to give: pull it again soon. Coalesced: one post to the strand while one is pending.
  // Cheap and lock-free apart from the io_context's own queue lock (a leaf), so it may be called with the
  // caller's locks held. A no-op after the connection closed.
  void Wake();

  // Requested when the answer can no longer be delivered: the client went away (EOF or reset while handling
  // or streaming), a deadline expired, or the Listener closed. Not requested after a complete answer.
  std::stop_token closed() const { return stop_.get_token(); }

 private:
  friend class Connection;
  Exchange(Request request, std::weak_ptr<Connection> connection, uint64_t sequence, std::stop_source stop);

  const Request request_;
  const std::weak_ptr<Connection> connection_;
  const uint64_t sequence_;  // the connection's request number: a late answer to an earlier request is dropped
  const std::stop_source stop_;
  std::atomic<bool> answered_{false};
  std::atomic<bool> wake_pending_{false};
};

}  // namespace fpgaserve::net
