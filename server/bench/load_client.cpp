#include "server/bench/load_client.h"

// GCC 12 reports false positives inside Boost once it inlines it: a "potential null pointer dereference"
// in Asio's scheduler (scheduler.ipp:325, this_thread is checked just before) and, under the sanitizers,
// "may be used uninitialized" on an empty boost::optional in Beast's parser. Being in a system header does
// not silence middle-end warnings, so this file turns those two off.
#pragma GCC diagnostic ignored "-Wnull-dereference"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <thread>
#include <unordered_map>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "server/bench/sse_parser.h"

namespace fpgaserve {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using Clock = std::chrono::steady_clock;

std::string RequestRecord::FailureKey() const {
  switch (outcome) {
    case RequestOutcome::kOk: return "";
    case RequestOutcome::kHttpStatus: return std::to_string(http_status);
    case RequestOutcome::kConnection: return "connection";
    case RequestOutcome::kTimeout: return "timeout";
    case RequestOutcome::kStreamError: return "stream";
  }
  return "unknown";
}

namespace {

double SecondsBetween(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

Clock::duration ToDuration(double seconds) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

std::string Truncated(std::string s, size_t n = 300) {
  if (s.size() > n) s.resize(n);
  return s;
}

class Driver;

// One request on its own connection. Every handler runs on the connection's strand; the first of
// Fail()/Complete() to run finishes the request, later handlers (cancelled reads) see finished_ and return.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(asio::io_context& ioc, Driver& driver, int index, const RequestSpec& spec, RequestRecord& record);
  asio::any_io_executor executor() { return stream_.get_executor(); }
  void Start();
  // From the scheduler (posted to this strand): ends the request now with the given outcome.
  void Abort(RequestOutcome outcome, const std::string& why) { Fail(outcome, why); }

 private:
  void OnConnect(beast::error_code ec, const tcp::endpoint&);
  void OnWrite(beast::error_code ec, size_t);
  void OnHeader(beast::error_code ec, size_t);
  void ReadSome();
  void OnRead(beast::error_code ec, size_t);
  void HandleEvents(Clock::time_point at);
  void Complete(Clock::time_point at);
  void Fail(RequestOutcome outcome, const std::string& why);
  void Finish();

  Driver& driver_;
  const int index_;
  RequestRecord& rec_;  // this request's slot in the driver's records; only this session writes it
  beast::tcp_stream stream_;
  asio::steady_timer timeout_;
  http::request<http::string_body> req_;
  beast::flat_buffer buffer_;
  http::response_parser<http::buffer_body> parser_;
  char chunk_[16 * 1024];
  SseParser sse_;
  std::vector<std::string> events_;
  std::string error_body_;
  Clock::time_point sent_at_;
  Clock::time_point connected_at_, written_at_;  // for the failure messages: where the time went
  Clock::time_point last_content_;
  bool finished_ = false;
  bool saw_event_ = false;
};

// The scheduler: releases requests at their arrival times, keeps at most max_concurrency in flight,
// stops sending at max_seconds and cancels stragglers at max_seconds + grace. All its state is touched
// only on strand_.
class Driver {
 public:
  Driver(asio::io_context& ioc, const HttpTarget& target, tcp::resolver::results_type endpoints,
         const std::vector<RequestSpec>& specs, const LoadOptions& options)
      : ioc_(ioc),
        target_(target),
        endpoints_(std::move(endpoints)),
        specs_(specs),
        options_(options),
        times_(ArrivalTimes(static_cast<int>(specs.size()), options.arrivals)),
        records_(specs.size()),
        strand_(asio::make_strand(ioc)),
        arrival_timer_(strand_),
        stop_timer_(strand_),
        progress_timer_(strand_) {}

  void Start() {
    start_ = last_end_ = Clock::now();
    asio::post(strand_, [this] { Begin(); });
  }

  // Any thread: the session at `index` has finished and written its record.
  void OnDone(int index) {
    const auto at = Clock::now();
    asio::post(strand_, [this, index, at] {
      in_flight_--;
      done_++;
      if (!records_[index].ok()) failed_++;
      if (at > last_end_) last_end_ = at;
      live_.erase(index);
      TryLaunch();
      CheckFinished();
    });
  }

  // REQUIRES: the io_context has stopped running.
  LoadResult TakeResult() {
    LoadResult result;
    records_.resize(next_launch_);
    result.records = std::move(records_);
    result.not_sent = static_cast<int>(specs_.size()) - next_launch_;
    result.duration_s = SecondsBetween(start_, done_ > 0 ? last_end_ : Clock::now());
    result.hard_stopped = hard_stopped_;
    return result;
  }

  const HttpTarget& target() const { return target_; }
  const tcp::resolver::results_type& endpoints() const { return endpoints_; }
  const LoadOptions& options() const { return options_; }
  Clock::time_point start() const { return start_; }

 private:
  void Begin() {
    if (options_.on_progress) ScheduleProgress();
    if (options_.max_seconds > 0) {
      stop_timer_.expires_at(start_ + ToDuration(options_.max_seconds));
      stop_timer_.async_wait([this](beast::error_code ec) {
        if (!ec) StopSending();
      });
    }
    ReleaseArrivals();
    CheckFinished();
  }

  void ReleaseArrivals() {
    const double now = SecondsBetween(start_, Clock::now());
    while (next_arrival_ < specs_.size() && times_[next_arrival_] <= now) {
      next_arrival_++;
      ready_++;
    }
    TryLaunch();
    if (next_arrival_ < specs_.size() && !stop_sending_) {
      arrival_timer_.expires_at(start_ + ToDuration(times_[next_arrival_]));
      arrival_timer_.async_wait([this](beast::error_code ec) {
        if (!ec) ReleaseArrivals();
      });
    }
  }

  void TryLaunch() {
    const int cap = options_.max_concurrency;
    while (ready_ > 0 && !stop_sending_ && (cap <= 0 || in_flight_ < cap)) {
      const int index = next_launch_++;
      ready_--;
      in_flight_++;
      auto session = std::make_shared<Session>(ioc_, *this, index, specs_[index], records_[index]);
      live_[index] = session;
      asio::post(session->executor(), [session] { session->Start(); });
    }
  }

  void StopSending() {
    stop_sending_ = true;
    arrival_timer_.cancel();
    if (in_flight_ > 0) {
      stop_timer_.expires_after(ToDuration(options_.grace_seconds));
      stop_timer_.async_wait([this](beast::error_code ec) {
        if (!ec) HardStop();
      });
    }
    CheckFinished();
  }

  void HardStop() {
    hard_stopped_ = true;
    for (auto& [index, weak] : live_) {
      if (auto session = weak.lock()) {
        asio::post(session->executor(), [session] {
          session->Abort(RequestOutcome::kTimeout, "still running at the hard stop (--max-seconds + grace)");
        });
      }
    }
  }

  void CheckFinished() {
    if (finished_ || in_flight_ > 0) return;
    if (next_launch_ < static_cast<int>(specs_.size()) && !stop_sending_) return;
    finished_ = true;  // with the timers cancelled the io_context runs out of work and returns
    arrival_timer_.cancel();
    stop_timer_.cancel();
    progress_timer_.cancel();
    if (options_.on_progress) options_.on_progress(Progress());
  }

  void ScheduleProgress() {
    if (finished_) return;
    options_.on_progress(Progress());
    progress_timer_.expires_after(ToDuration(options_.progress_interval_s));
    progress_timer_.async_wait([this](beast::error_code ec) {
      if (!ec) ScheduleProgress();
    });
  }

  LoadProgress Progress() const {
    return {static_cast<int>(specs_.size()),     next_launch_, done_, failed_, in_flight_,
            SecondsBetween(start_, Clock::now())};
  }

  // Constant after construction.
  asio::io_context& ioc_;
  const HttpTarget& target_;
  const tcp::resolver::results_type endpoints_;
  const std::vector<RequestSpec>& specs_;
  const LoadOptions& options_;
  const std::vector<double> times_;     // arrival time of each request, seconds after start_
  std::vector<RequestRecord> records_;  // slot i written by request i's session only
  Clock::time_point start_;

  // Guarded by strand_.
  asio::strand<asio::io_context::executor_type> strand_;
  asio::steady_timer arrival_timer_, stop_timer_, progress_timer_;
  size_t next_arrival_ = 0;  // requests whose arrival time has passed
  int ready_ = 0;            // arrived but waiting for a free concurrency slot
  int next_launch_ = 0;      // requests sent
  int in_flight_ = 0, done_ = 0, failed_ = 0;
  bool stop_sending_ = false, hard_stopped_ = false, finished_ = false;
  Clock::time_point last_end_;
  std::unordered_map<int, std::weak_ptr<Session>> live_;
};

Session::Session(asio::io_context& ioc, Driver& driver, int index, const RequestSpec& spec, RequestRecord& record)
    : driver_(driver), index_(index), rec_(record), stream_(asio::make_strand(ioc)), timeout_(stream_.get_executor()) {
  const HttpTarget& target = driver.target();
  req_.method(http::verb::post);
  req_.target(target.base_path + driver.options().path);
  req_.version(11);
  req_.set(http::field::host, target.HostHeader());
  req_.set(http::field::user_agent, "fpgaserve-bench");
  req_.set(http::field::content_type, "application/json");
  req_.set(http::field::accept, "text/event-stream");
  if (!driver.options().api_key.empty()) req_.set(http::field::authorization, "Bearer " + driver.options().api_key);
  req_.keep_alive(false);
  req_.body() = spec.body;
  req_.prepare_payload();
  // A long stream is not an attack here. Not boost::none: Beast 1.74 compares a Content-Length with the
  // empty optional and reports every sized body as over the limit.
  parser_.body_limit(std::numeric_limits<std::uint64_t>::max());
  rec_.prompt_tokens = spec.input_tokens;
}

void Session::Start() {
  sent_at_ = Clock::now();
  rec_.send_s = SecondsBetween(driver_.start(), sent_at_);
  if (driver_.options().request_timeout_s > 0) {
    timeout_.expires_after(ToDuration(driver_.options().request_timeout_s));
    timeout_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec) self->Fail(RequestOutcome::kTimeout, "no complete response within --timeout");
    });
  }
  stream_.async_connect(driver_.endpoints(), beast::bind_front_handler(&Session::OnConnect, shared_from_this()));
}

void Session::OnConnect(beast::error_code ec, const tcp::endpoint&) {
  if (finished_) return;
  if (ec) return Fail(RequestOutcome::kConnection, "connect: " + ec.message());
  connected_at_ = Clock::now();
  http::async_write(stream_, req_, beast::bind_front_handler(&Session::OnWrite, shared_from_this()));
}

void Session::OnWrite(beast::error_code ec, size_t) {
  if (finished_) return;
  if (ec) return Fail(RequestOutcome::kConnection, "write: " + ec.message());
  written_at_ = Clock::now();
  http::async_read_header(stream_, buffer_, parser_, beast::bind_front_handler(&Session::OnHeader, shared_from_this()));
}

void Session::OnHeader(beast::error_code ec, size_t) {
  if (finished_) return;
  if (ec) {
    char timing[160];
    std::snprintf(timing, sizeof timing,
                  " (connected %.2f s after the start, request written %.2f s later, %.2f s before this)",
                  SecondsBetween(sent_at_, connected_at_), SecondsBetween(connected_at_, written_at_),
                  SecondsBetween(written_at_, Clock::now()));
    return Fail(RequestOutcome::kConnection, "reading the response header: " + ec.message() + timing);
  }
  rec_.http_status = static_cast<int>(parser_.get().result_int());
  if (parser_.is_done()) return Complete(Clock::now());  // a response without a body
  ReadSome();
}

void Session::ReadSome() {
  parser_.get().body().data = chunk_;
  parser_.get().body().size = sizeof(chunk_);
  http::async_read_some(stream_, buffer_, parser_, beast::bind_front_handler(&Session::OnRead, shared_from_this()));
}

void Session::OnRead(beast::error_code ec, size_t) {
  if (finished_) return;
  if (ec == http::error::need_buffer) ec = {};  // the chunk buffer is full: not an error
  if (ec) return Fail(RequestOutcome::kConnection, "the stream broke off: " + ec.message());
  const auto at = Clock::now();  // every event in this read arrived now
  const size_t n = sizeof(chunk_) - parser_.get().body().size;
  if (rec_.http_status == 200) {
    sse_.Feed(std::string_view(chunk_, n), events_);
    HandleEvents(at);
    if (finished_) return;
  } else {
    error_body_.append(chunk_, n);
    if (error_body_.size() > 2048)
      return Fail(RequestOutcome::kHttpStatus,
                  "HTTP " + std::to_string(rec_.http_status) + ": " + Truncated(error_body_));
  }
  if (parser_.is_done()) return Complete(at);
  ReadSome();
}

void Session::HandleEvents(Clock::time_point at) {
  for (const std::string& event : events_) {
    saw_event_ = true;
    if (event == "[DONE]") {
      rec_.done = true;
      continue;
    }
    const auto j = nlohmann::json::parse(event, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object())
      return Fail(RequestOutcome::kStreamError, "malformed event: " + Truncated(event));
    if (auto e = j.find("error"); e != j.end() && !e->is_null())
      return Fail(RequestOutcome::kStreamError, "error event: " + Truncated(e->dump()));
    if (auto choices = j.find("choices"); choices != j.end() && choices->is_array() && !choices->empty()) {
      const auto& c = choices->front();
      const nlohmann::json* content = nullptr;
      if (auto t = c.find("text"); t != c.end()) content = &*t;  // completions
      else if (auto d = c.find("delta"); d != c.end() && d->is_object() && d->contains("content"))
        content = &(*d)["content"];  // chat
      if (content != nullptr && content->is_string() && !content->get_ref<const std::string&>().empty()) {
        if (rec_.content_chunks == 0) rec_.ttft_s = SecondsBetween(sent_at_, at);
        else rec_.itl_s.push_back(SecondsBetween(last_content_, at));
        last_content_ = at;
        rec_.content_chunks++;
      }
    }
    if (auto u = j.find("usage"); u != j.end() && u->is_object()) {
      rec_.prompt_tokens = u->value("prompt_tokens", rec_.prompt_tokens);
      rec_.completion_tokens = u->value("completion_tokens", 0);
      rec_.usage_reported = true;
    }
  }
  events_.clear();
}

void Session::Complete(Clock::time_point at) {
  rec_.e2el_s = SecondsBetween(sent_at_, at);
  if (rec_.http_status != 200)
    return Fail(RequestOutcome::kHttpStatus,
                "HTTP " + std::to_string(rec_.http_status) + ": " + Truncated(error_body_));
  sse_.Finish(events_);
  HandleEvents(at);
  if (finished_) return;
  if (!saw_event_)
    return Fail(RequestOutcome::kStreamError, "HTTP 200 without server-sent events (does the server stream?)");
  if (rec_.content_chunks == 0) rec_.ttft_s = rec_.e2el_s;  // nothing generated: the first byte is the last
  if (!rec_.usage_reported) rec_.completion_tokens = rec_.content_chunks;
  Finish();
}

void Session::Fail(RequestOutcome outcome, const std::string& why) {
  if (finished_) return;
  rec_.outcome = outcome;
  rec_.error = why;
  if (rec_.e2el_s == 0.0) rec_.e2el_s = SecondsBetween(sent_at_, Clock::now());
  Finish();
}

void Session::Finish() {
  finished_ = true;
  timeout_.cancel();
  beast::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream_.close();  // cancels a pending read or connect; its handler sees finished_
  driver_.OnDone(index_);
}

}  // namespace

Result<LoadResult> RunLoad(const HttpTarget& target, const std::vector<RequestSpec>& specs,
                           const LoadOptions& options) {
  asio::io_context ioc(options.threads > 1 ? options.threads : 1);
  beast::error_code ec;
  tcp::resolver resolver(ioc);
  auto endpoints = resolver.resolve(target.host, target.port, ec);
  if (ec) return Status::Unavailable("cannot resolve " + target.host + ": " + ec.message());
  Driver driver(ioc, target, std::move(endpoints), specs, options);
  driver.Start();
  std::vector<std::thread> extra;
  for (int i = 1; i < options.threads; i++) extra.emplace_back([&ioc] { ioc.run(); });
  ioc.run();
  for (auto& t : extra) t.join();
  return driver.TakeResult();
}

}  // namespace fpgaserve
