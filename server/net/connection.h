// Connection (internal to net): one accepted socket and its state machine. See README.md for the states.
//
//   Idle       waiting for a request's first byte          deadline: idle_timeout        -> close
//   Reading    first byte seen, parsing headers and body   deadline: request_deadline    -> 408, close
//   Handling   Handler::Handle called, no answer yet       none (an async read watches for EOF/RST)
//   Responding a Reply being written                        write_deadline per write      -> close
//   Streaming  a Stream's head and chunks being written     write_deadline per write      -> close
//   Lingering  answer written, Connection: close: our side shut, the client's bytes read and dropped until its
//              EOF or 1 s, so a client still sending does not get a reset that destroys the answer
//   Closed     socket closed; the current Exchange's closed() requested
// Threading: every member is touched only on the connection's strand (the socket's executor). The public
// methods post to it and may be called from any thread. Handlers hold shared_ptr<Connection>; Exchanges hold a
// weak_ptr, so a Connection dies when its last operation completes after Close.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <unordered_map>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "base/mutex.h"
#include "server/net/body_source.h"
#include "server/net/handler.h"
#include "server/net/response.h"
#include "server/net/transport_metrics.h"
#include "server/net/transport_options.h"

namespace fpgaserve::net {

class Connection;

// What a Listener shares with its connections; they hold it by shared_ptr, so it outlives the last of them.
struct ConnectionShared {
  ConnectionShared(TransportOptions o, Handler* h) : options(std::move(o)), handler(h) {}

  const TransportOptions options;
  Handler* const handler;
  TransportMetrics metrics;
  std::string reject_response;  // the prebuilt 503; written by Listener::Start before the first accept

  Mutex mu;  // the registry below: connections add and remove themselves, Listener::Close sweeps it
  std::unordered_map<Connection*, std::weak_ptr<Connection>> live GUARDED_BY(mu);
  bool closed GUARDED_BY(mu) = false;  // Close was called: no new connection registers
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  // `socket` was accepted with a strand as its executor. `reject`: over the cap, answer the prebuilt 503 and
  // close (not counted as open).
  Connection(boost::asio::ip::tcp::socket socket, std::shared_ptr<ConnectionShared> shared, bool reject);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Posts the start (first read, or the 503). Returns false when the Listener is already closed (the
  // connection is then dropped).
  bool Start();
  // Posts a close (Listener::Close).
  void Close();

  // From Exchange, any thread: post to the strand; an answer for another request number is dropped.
  void PostReply(uint64_t sequence, Response response);
  void PostStream(uint64_t sequence, ResponseHead head, std::shared_ptr<BodySource> source);
  void PostWake(uint64_t sequence, std::weak_ptr<Exchange> exchange);
  void PostAbandoned(uint64_t sequence);

 private:
  enum class State { kIdle, kReading, kHandling, kResponding, kStreaming, kLingering, kClosed };
  enum class Phase { kNone, kIdle, kRequest, kWrite, kLinger };
  using Clock = std::chrono::steady_clock;
  using Parser = boost::beast::http::request_parser<boost::beast::http::string_body>;

  // The rest runs on the strand.
  void Begin();
  void Arm(Phase phase, Clock::duration after);
  void Disarm();
  void OnDeadline();
  void StartNextRequest();
  void EnsureRead();
  void OnRead(const boost::system::error_code& error, size_t bytes);
  void Parse();
  void OnHeader();
  void Dispatch();
  void OnReply(uint64_t sequence, const Response& response);
  void OnStream(uint64_t sequence, const ResponseHead& head, std::shared_ptr<BodySource> source);
  void OnWake(uint64_t sequence);
  void SendError(int status, std::string_view message);
  void Pump();
  void Enqueue(std::string bytes);
  void StartWrite();
  void OnWrite(const boost::system::error_code& error, size_t bytes);
  void OnDrained();
  void FinishExchange();
  void Linger();
  void Shutdown();
  std::string Head(int status, const std::vector<std::pair<std::string, std::string>>& headers,
                   const std::string& content_type, std::optional<size_t> content_length);

  const boost::asio::any_io_executor strand_;
  const std::shared_ptr<ConnectionShared> shared_;
  const bool reject_;
  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer deadline_;
  boost::asio::steady_timer wake_timer_;
  std::string peer_;

  State state_ = State::kIdle;
  Phase phase_ = Phase::kNone;
  uint64_t deadline_generation_ = 0;  // a deadline that fires after being re-armed or disarmed is ignored
  uint64_t wake_generation_ = 0;

  // Reading.
  boost::beast::flat_buffer buffer_;  // unparsed bytes, a pipelined next request's included
  // Where an async read lands; OnRead appends it to buffer_. Not buffer_.prepare(): the parser consumes from
  // buffer_ while a read is pending (a pipelined request parsed when the previous answer ends, an error
  // answer), and a flat_buffer that is consumed moves its free space, so the pending read's bytes would be
  // committed at the wrong place (a request parsed twice).
  std::array<char, 4096> chunk_;
  std::optional<Parser> parser_;
  bool header_seen_ = false;
  bool reading_ = false;  // one async read in flight at most

  // The current exchange.
  uint64_t sequence_ = 0;
  std::stop_source stop_{std::nostopstate};
  unsigned version_ = 11;
  bool keep_alive_ = true;
  bool head_request_ = false;
  bool close_after_write_ = false;

  // Streaming.
  std::shared_ptr<BodySource> source_;
  bool chunked_ = true;
  bool source_waiting_ = false;
  bool source_ended_ = false;
  bool stream_counted_ = false;

  // Writing: one async write in flight; `queued_` bytes wait in `out_`, the first `out_offset_` of the front
  // string already written.
  std::deque<std::string> out_;
  size_t out_offset_ = 0;
  size_t queued_ = 0;
  bool writing_ = false;
  bool counted_open_ = false;  // in TransportMetrics::connections_open (not when rejected)
  bool registered_ = false;    // in ConnectionShared::live
  // Set while no operation is pending that would keep this alive (the read-ahead bound reached while an
  // answer is made): released when the exchange finishes or the connection closes.
  std::shared_ptr<Connection> held_;
};

}  // namespace fpgaserve::net
