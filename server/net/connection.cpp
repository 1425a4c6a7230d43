// GCC 12 reports false positives inside Boost once it inlines it (as in server/bench/http_target.cpp): a
// "potential null pointer dereference" in Asio's scheduler and "may be used uninitialized" in Beast's parser.
// Being in a system header does not silence middle-end warnings, so this file turns those two off, before
// its first include (its own header already brings Asio in). Clang (the thread-safety check) has neither.
#ifndef __clang__
#pragma GCC diagnostic ignored "-Wnull-dereference"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include "server/net/connection.h"

#include <algorithm>
#include <cctype>
#include <exception>
#include <vector>

#include <boost/asio/post.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/status.hpp>

#include "server/net/exchange.h"

namespace fpgaserve::net {

namespace asio = boost::asio;
namespace http = boost::beast::http;

namespace {

// A lingering close waits this long for the client's EOF; a rejected connection's whole write too.
constexpr std::chrono::milliseconds kLinger{1000};
// Bytes read per async read; a connection reads no further ahead than header_limit + this while it answers.
constexpr size_t kReadChunk = 4096;  // Connection::chunk_'s size

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// Header values must not break the head: CR and LF become spaces.
std::string Clean(std::string_view value) {
  std::string out(value);
  std::replace_if(
      out.begin(), out.end(), [](char c) { return c == '\r' || c == '\n'; }, ' ');
  return out;
}

// Beast 1.74's string_view is Boost's, not std's.
std::string_view ToStd(boost::beast::string_view s) { return {s.data(), s.size()}; }

std::string Hex(size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  do {
    out.insert(out.begin(), kDigits[n & 15]);
    n >>= 4;
  } while (n != 0);
  return out;
}

}  // namespace

Connection::Connection(asio::ip::tcp::socket socket, std::shared_ptr<ConnectionShared> shared, bool reject)
    : strand_(socket.get_executor()),
      shared_(std::move(shared)),
      reject_(reject),
      socket_(std::move(socket)),
      deadline_(strand_),
      wake_timer_(strand_) {
  boost::system::error_code error;
  const auto remote = socket_.remote_endpoint(error);
  if (!error) peer_ = remote.address().to_string();
}

Connection::~Connection() {
  // Normally Shutdown ran already; when the io_context is destroyed with this connection open it did not.
  stop_.request_stop();
  if (counted_open_) shared_->metrics.connections_open.fetch_sub(1, std::memory_order_relaxed);
  if (stream_counted_) shared_->metrics.streams_open.fetch_sub(1, std::memory_order_relaxed);
  if (registered_) {
    MutexLock lock(&shared_->mu);
    shared_->live.erase(this);
  }
}

bool Connection::Start() {
  {
    MutexLock lock(&shared_->mu);
    if (shared_->closed) return false;
    shared_->live.emplace(this, weak_from_this());  // rejected ones too: Close ends them at once
  }
  registered_ = true;  // before any handler runs: published by the post below
  if (!reject_) {
    counted_open_ = true;
    shared_->metrics.connections_open.fetch_add(1, std::memory_order_relaxed);
    shared_->metrics.connections_total.fetch_add(1, std::memory_order_relaxed);
  }
  asio::post(strand_, [self = shared_from_this()] { self->Begin(); });
  return true;
}

void Connection::Close() {
  asio::post(strand_, [self = shared_from_this()] { self->Shutdown(); });
}

void Connection::PostReply(uint64_t sequence, Response response) {
  asio::post(strand_, [self = shared_from_this(), sequence, response = std::move(response)] {
    self->OnReply(sequence, response);
  });
}

void Connection::PostStream(uint64_t sequence, ResponseHead head, std::shared_ptr<BodySource> source) {
  asio::post(strand_, [self = shared_from_this(), sequence, head = std::move(head),
                       source = std::move(source)]() mutable { self->OnStream(sequence, head, std::move(source)); });
}

void Connection::PostWake(uint64_t sequence, std::weak_ptr<Exchange> exchange) {
  asio::post(strand_, [self = shared_from_this(), sequence, exchange = std::move(exchange)] {
    // Cleared before pulling: a Wake during the pull posts again.
    if (auto e = exchange.lock()) e->wake_pending_.store(false);
    self->OnWake(sequence);
  });
}

void Connection::PostAbandoned(uint64_t sequence) {
  asio::post(strand_, [self = shared_from_this(), sequence] {
    if (self->state_ != State::kHandling || sequence != self->sequence_) return;
    self->SendError(500, "the server dropped the request without answering it");
  });
}

// ---- on the strand from here on ----

void Connection::Begin() {
  if (state_ == State::kClosed) return;
  if (!reject_) {
    StartNextRequest();
    return;
  }
  state_ = State::kResponding;
  close_after_write_ = true;
  Enqueue(shared_->reject_response);
  StartWrite();
}

void Connection::Arm(Phase phase, Clock::duration after) {
  phase_ = phase;
  const uint64_t generation = ++deadline_generation_;
  deadline_.expires_after(after);
  deadline_.async_wait([self = shared_from_this(), generation](const boost::system::error_code& error) {
    if (error || generation != self->deadline_generation_) return;
    self->OnDeadline();
  });
}

void Connection::Disarm() {
  phase_ = Phase::kNone;
  ++deadline_generation_;
  deadline_.cancel();
}

void Connection::OnDeadline() {
  if (state_ == State::kClosed) return;
  TransportMetrics& metrics = shared_->metrics;
  switch (phase_) {
    case Phase::kNone: return;
    case Phase::kIdle:
      metrics.deadline_expired_idle.fetch_add(1, std::memory_order_relaxed);
      Shutdown();
      return;
    case Phase::kRequest:
      metrics.deadline_expired_request.fetch_add(1, std::memory_order_relaxed);
      SendError(408, "the request did not arrive within the request deadline");
      return;
    case Phase::kWrite:
      if (!reject_) metrics.deadline_expired_write.fetch_add(1, std::memory_order_relaxed);
      Shutdown();
      return;
    case Phase::kLinger: Shutdown(); return;
  }
}

void Connection::StartNextRequest() {
  state_ = State::kIdle;
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(std::min<size_t>(shared_->options.header_limit, UINT32_MAX)));
  parser_->body_limit(static_cast<std::uint64_t>(shared_->options.body_limit));
  parser_->eager(true);
  header_seen_ = false;
  if (buffer_.size() > 0) {  // a pipelined request: its first byte is here already
    state_ = State::kReading;
    Arm(Phase::kRequest, shared_->options.request_deadline);
    Parse();
    return;
  }
  Arm(Phase::kIdle, shared_->options.idle_timeout);
  EnsureRead();
}

void Connection::EnsureRead() {
  if (reading_ || state_ == State::kClosed) return;
  // While answering, bytes of a pipelined next request are kept, up to a bound (then TCP holds the rest).
  if (state_ != State::kLingering && buffer_.size() >= shared_->options.header_limit + kReadChunk) {
    // No read keeps this connection alive now: hold it until the answer is done or it closes.
    if (!held_) held_ = shared_from_this();
    return;
  }
  reading_ = true;
  static_assert(sizeof(chunk_) == kReadChunk);
  socket_.async_read_some(asio::buffer(chunk_),
                          [self = shared_from_this()](const boost::system::error_code& error, size_t bytes) {
                            self->OnRead(error, bytes);
                          });
}

void Connection::OnRead(const boost::system::error_code& error, size_t bytes) {
  reading_ = false;
  if (state_ == State::kClosed) return;
  if (error) {
    // EOF or reset. Idle or mid-request: the client left. Handling or answering: the client is gone, so the
    // Exchange's closed() is requested (Shutdown). Lingering: the client read our answer and closed.
    Shutdown();
    return;
  }
  buffer_.commit(asio::buffer_copy(buffer_.prepare(bytes), asio::buffer(chunk_.data(), bytes)));
  switch (state_) {
    case State::kLingering:
      buffer_.consume(buffer_.size());
      EnsureRead();
      return;
    case State::kIdle:
      state_ = State::kReading;
      Arm(Phase::kRequest, shared_->options.request_deadline);
      Parse();
      return;
    case State::kReading: Parse(); return;
    default: EnsureRead(); return;  // watching for EOF while the answer is made or written
  }
}

void Connection::Parse() {
  while (state_ == State::kReading) {
    if (buffer_.size() == 0) {
      EnsureRead();
      return;
    }
    boost::beast::error_code error;
    const size_t used = parser_->put(buffer_.data(), error);
    buffer_.consume(used);
    if (error == http::error::need_more) {
      EnsureRead();
      return;
    }
    if (error == http::error::header_limit) {
      SendError(431, "the request's headers are larger than the server accepts");
      return;
    }
    if (error == http::error::body_limit) {
      SendError(413, "the request's body is larger than the server accepts");
      return;
    }
    if (error) {
      SendError(400, "malformed HTTP request: " + error.message());
      return;
    }
    if (!header_seen_ && parser_->is_header_done()) {
      header_seen_ = true;
      OnHeader();
    }
    if (parser_->is_done()) {
      Dispatch();
      return;
    }
    if (used == 0) {
      EnsureRead();
      return;
    }
  }
}

void Connection::OnHeader() {
  const auto& message = parser_->get();
  // curl sends Expect: 100-continue for bodies over 1 KiB and waits (a second) for this before sending the body.
  if (message.version() >= 11 && !parser_->is_done() && IEquals(ToStd(message[http::field::expect]), "100-continue")) {
    Enqueue("HTTP/1.1 100 Continue\r\n\r\n");
    StartWrite();
  }
}

void Connection::Dispatch() {
  http::request<http::string_body> message = parser_->release();
  parser_.reset();
  Request request;
  request.method = std::string(ToStd(message.method_string()));
  for (char& c : request.method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  request.target = std::string(ToStd(message.target()));
  std::string_view path = request.target;
  if (path.rfind("http://", 0) == 0 || path.rfind("https://", 0) == 0) {  // absolute form: drop scheme and host
    const size_t slash = path.find('/', path.find("//") + 2);
    path = slash == std::string_view::npos ? std::string_view("/") : path.substr(slash);
  }
  const size_t question = path.find('?');
  request.path = std::string(path.substr(0, question));
  if (question != std::string_view::npos) request.query = std::string(path.substr(question + 1));
  for (const auto& field : message) {
    request.headers.emplace_back(ToStd(field.name_string()), ToStd(field.value()));
  }
  request.body = std::move(message.body());
  request.peer = peer_;
  request.keep_alive = message.keep_alive();

  version_ = message.version();
  keep_alive_ = request.keep_alive;
  head_request_ = request.method == "HEAD";
  close_after_write_ = false;
  state_ = State::kHandling;
  Disarm();
  stop_ = std::stop_source();
  auto exchange = std::shared_ptr<Exchange>(new Exchange(std::move(request), weak_from_this(), ++sequence_, stop_));
  EnsureRead();  // notices a client that leaves while the answer is made
  try {
    shared_->handler->Handle(std::move(exchange));
  } catch (const std::exception& e) {
    if (state_ == State::kHandling) SendError(500, std::string("the request handler failed: ") + e.what());
  }
}

std::string Connection::Head(int status, const std::vector<std::pair<std::string, std::string>>& headers,
                             const std::string& content_type, std::optional<size_t> content_length) {
  for (const auto& [name, value] : headers) {
    if (IEquals(name, "connection") && IEquals(value, "close")) close_after_write_ = true;
  }
  if (!keep_alive_) close_after_write_ = true;
  std::string head = "HTTP/1.1 " + std::to_string(status) + " ";
  head += ToStd(http::obsolete_reason(http::int_to_status(static_cast<unsigned>(status))));
  head += "\r\n";
  for (const auto& [name, value] : headers) {
    if (IEquals(name, "connection") || IEquals(name, "content-length") || IEquals(name, "transfer-encoding")) {
      continue;
    }
    head += Clean(name) + ": " + Clean(value) + "\r\n";
  }
  if (!content_type.empty()) head += "Content-Type: " + Clean(content_type) + "\r\n";
  const bool bodiless = status / 100 == 1 || status == 204 || status == 304;
  if (content_length && !bodiless) head += "Content-Length: " + std::to_string(*content_length) + "\r\n";
  if (!content_length && chunked_) head += "Transfer-Encoding: chunked\r\n";
  if (close_after_write_) {
    head += "Connection: close\r\n";
  } else if (version_ < 11) {
    head += "Connection: keep-alive\r\n";
  }
  head += "\r\n";
  return head;
}

void Connection::OnReply(uint64_t sequence, const Response& response) {
  if (state_ != State::kHandling || sequence != sequence_) return;
  state_ = State::kResponding;
  std::string bytes = Head(response.status, response.headers, response.content_type, response.body.size());
  if (!head_request_) bytes += response.body;
  Enqueue(std::move(bytes));
  StartWrite();
}

void Connection::OnStream(uint64_t sequence, const ResponseHead& head, std::shared_ptr<BodySource> source) {
  if (state_ != State::kHandling || sequence != sequence_) return;
  state_ = State::kStreaming;
  stream_counted_ = true;
  shared_->metrics.streams_open.fetch_add(1, std::memory_order_relaxed);
  chunked_ = version_ >= 11;
  if (!chunked_) close_after_write_ = true;  // HTTP/1.0: the body ends where the connection does
  Enqueue(Head(head.status, head.headers, head.content_type, std::nullopt));
  source_waiting_ = false;
  source_ended_ = head_request_ || source == nullptr;
  if (!source_ended_) source_ = std::move(source);
  Pump();
}

void Connection::OnWake(uint64_t sequence) {
  if (state_ != State::kStreaming || sequence != sequence_ || source_ended_) return;
  source_waiting_ = false;
  ++wake_generation_;
  wake_timer_.cancel();
  Pump();
}

void Connection::Pump() {
  const size_t limit = shared_->options.queued_bytes;
  while (state_ == State::kStreaming && !source_ended_ && !source_waiting_ && queued_ < limit) {
    std::string data;
    const PullResult result = source_->Pull(Clock::now(), limit - queued_, &data);
    const bool got_bytes = !data.empty();
    if (got_bytes) {
      if (chunked_) {
        const size_t size = data.size();
        Enqueue(Hex(size) + "\r\n" + std::move(data) + "\r\n");
      } else {
        Enqueue(std::move(data));
      }
    }
    if (result.state == PullState::kEnd) {
      source_ended_ = true;
      source_.reset();
      if (chunked_) Enqueue("0\r\n\r\n");
    } else if (result.state == PullState::kWait) {
      source_waiting_ = true;
      if (result.wake_at != Clock::time_point::max()) {
        const uint64_t generation = ++wake_generation_;
        wake_timer_.expires_at(result.wake_at);
        wake_timer_.async_wait(
            [self = shared_from_this(), generation, sequence = sequence_](const boost::system::error_code& error) {
              if (error || generation != self->wake_generation_) return;
              self->OnWake(sequence);
            });
      }
    } else if (!got_bytes) {
      // kMore with nothing: pull again after what else waits on this strand, not in a tight loop.
      asio::post(strand_, [self = shared_from_this(), sequence = sequence_] { self->OnWake(sequence); });
      break;
    }
  }
  StartWrite();
}

void Connection::SendError(int status, std::string_view message) {
  if (state_ == State::kClosed || state_ == State::kLingering) return;
  parser_.reset();
  buffer_.consume(buffer_.size());
  source_.reset();
  state_ = State::kResponding;
  keep_alive_ = false;
  head_request_ = false;
  chunked_ = false;
  Response response;
  response.status = status;
  response.content_type = "application/json";
  response.body = shared_->handler->ErrorBody(status, message);
  Enqueue(Head(status, response.headers, response.content_type, response.body.size()) + response.body);
  StartWrite();
}

void Connection::Enqueue(std::string bytes) {
  if (bytes.empty()) return;
  queued_ += bytes.size();
  out_.push_back(std::move(bytes));
}

void Connection::StartWrite() {
  if (writing_ || state_ == State::kClosed) return;
  if (out_.empty()) {
    OnDrained();
    return;
  }
  writing_ = true;
  // The 100 Continue interim answer is written under the request deadline; everything else under its own.
  if (state_ != State::kReading) {
    Arm(Phase::kWrite, reject_ ? std::min<Clock::duration>(kLinger, shared_->options.write_deadline)
                               : Clock::duration(shared_->options.write_deadline));
  }
  // Up to 16 queued strings in one gathered write (a stream's chunks), the front one from where it stopped.
  std::vector<asio::const_buffer> buffers;
  for (auto it = out_.begin(); it != out_.end() && buffers.size() < 16; ++it) {
    const size_t skip = buffers.empty() ? out_offset_ : 0;
    buffers.emplace_back(it->data() + skip, it->size() - skip);
  }
  socket_.async_write_some(buffers, [self = shared_from_this()](const boost::system::error_code& error, size_t bytes) {
    self->OnWrite(error, bytes);
  });
}

void Connection::OnWrite(const boost::system::error_code& error, size_t bytes) {
  writing_ = false;
  if (state_ == State::kClosed) return;
  if (error) {
    Shutdown();
    return;
  }
  queued_ -= bytes;
  while (bytes > 0) {
    const size_t left = out_.front().size() - out_offset_;
    if (bytes < left) {
      out_offset_ += bytes;
      break;
    }
    bytes -= left;
    out_.pop_front();
    out_offset_ = 0;
  }
  if (!out_.empty()) {
    StartWrite();  // progress: the write deadline starts again
    return;
  }
  if (state_ == State::kStreaming && !source_ended_ && !source_waiting_) {
    Pump();  // room again: pull more (Pump ends in StartWrite, which calls OnDrained when nothing came)
    return;
  }
  OnDrained();
}

void Connection::OnDrained() {
  switch (state_) {
    case State::kResponding: FinishExchange(); return;
    case State::kStreaming:
      if (source_ended_) {
        FinishExchange();
      } else {
        Disarm();  // waiting for the source: no write to bound
      }
      return;
    case State::kHandling: Disarm(); return;  // the rest of a 100 Continue went out: no write to bound now
    default: return;                          // Reading: the 100 Continue is out; the request deadline still runs
  }
}

void Connection::FinishExchange() {
  if (stream_counted_) {
    stream_counted_ = false;
    shared_->metrics.streams_open.fetch_sub(1, std::memory_order_relaxed);
  }
  source_.reset();
  stop_ = std::stop_source(std::nostopstate);                 // a complete answer: closed() is not requested later
  const std::shared_ptr<Connection> held = std::move(held_);  // released when this returns
  chunked_ = true;
  version_ = 11;
  if (close_after_write_ || !keep_alive_) {
    Linger();
  } else {
    StartNextRequest();
  }
}

void Connection::Linger() {
  state_ = State::kLingering;
  boost::system::error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  buffer_.consume(buffer_.size());
  Arm(Phase::kLinger, kLinger);
  EnsureRead();
}

void Connection::Shutdown() {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  stop_.request_stop();
  if (stream_counted_) {
    stream_counted_ = false;
    shared_->metrics.streams_open.fetch_sub(1, std::memory_order_relaxed);
  }
  const std::shared_ptr<Connection> held = std::move(held_);  // released when this returns
  Disarm();
  ++wake_generation_;
  wake_timer_.cancel();
  boost::system::error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  // Closed before the write queue is freed: a pending write may be sending from out_ on another I/O thread's
  // reactor until close() deregisters the socket (which waits for it).
  socket_.close(ignored);
  source_.reset();
  parser_.reset();
  out_.clear();
  if (counted_open_) {
    counted_open_ = false;
    shared_->metrics.connections_open.fetch_sub(1, std::memory_order_relaxed);
  }
  if (registered_) {
    registered_ = false;
    MutexLock lock(&shared_->mu);
    shared_->live.erase(this);
  }
}

}  // namespace fpgaserve::net
