// GCC 12 reports false positives inside Boost once it inlines it (as in server/bench/http_target.cpp): a
// "potential null pointer dereference" in Asio's scheduler and "may be used uninitialized" in Beast's parser.
// Being in a system header does not silence middle-end warnings, so this file turns those two off, before
// its first include (its own header already brings Asio in). Clang (the thread-safety check) has neither.
#ifndef __clang__
#pragma GCC diagnostic ignored "-Wnull-dereference"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include "server/net/exchange.h"

#include "server/net/connection.h"

namespace fpgaserve::net {

Exchange::Exchange(Request request, std::weak_ptr<Connection> connection, uint64_t sequence, std::stop_source stop)
    : request_(std::move(request)), connection_(std::move(connection)), sequence_(sequence), stop_(std::move(stop)) {}

Exchange::~Exchange() {
  // Released unanswered while the connection is still open: the transport answers 500 rather than leaving
  // the client waiting until a deadline.
  if (answered_.load() || stop_.stop_requested()) return;
  if (auto connection = connection_.lock()) connection->PostAbandoned(sequence_);
}

void Exchange::Reply(Response response) {
  if (answered_.exchange(true)) return;
  if (auto connection = connection_.lock()) connection->PostReply(sequence_, std::move(response));
}

void Exchange::Stream(ResponseHead head, std::shared_ptr<BodySource> source) {
  if (answered_.exchange(true)) return;
  if (auto connection = connection_.lock()) connection->PostStream(sequence_, std::move(head), std::move(source));
}

void Exchange::Wake() {
  if (stop_.stop_requested()) return;
  if (wake_pending_.exchange(true)) return;  // one post is pending already: it will pull everything there is
  if (auto connection = connection_.lock()) connection->PostWake(sequence_, weak_from_this());
}

}  // namespace fpgaserve::net
