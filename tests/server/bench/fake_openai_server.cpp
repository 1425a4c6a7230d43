#include "server/bench/fake_openai_server.h"

// GCC 12 reports false positives inside Boost once it inlines it: a "potential null pointer dereference"
// in Asio's scheduler (scheduler.ipp:325, this_thread is checked just before) and, under the sanitizers,
// "may be used uninitialized" on an empty boost::optional in Beast's parser. Being in a system header does
// not silence middle-end warnings, so this file turns those two off.
#pragma GCC diagnostic ignored "-Wnull-dereference"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <set>
#include <utility>  // before Asio: 1.74's awaitable.hpp uses std::exchange without it

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

namespace fpgaserve::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {
class Connection;
}

struct FakeOpenAiServer::Impl {
  asio::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  std::set<std::shared_ptr<Connection>> open;       // everything on the server thread: no locks
  std::vector<std::shared_ptr<Connection>> parked;  // waiting for hold_until_open
  asio::steady_timer park_deadline{ioc};
  bool killed = false;
};

namespace {

std::string Chunk(const std::string& payload) {
  char size[16];
  std::snprintf(size, sizeof(size), "%zx\r\n", payload.size());
  return size + payload + "\r\n";
}

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(FakeOpenAiServer& server, FakeOpenAiServer::Impl& impl, tcp::socket socket)
      : server_(server), impl_(impl), socket_(std::move(socket)), timer_(socket_.get_executor()) {}

  void Start() {
    http::async_read(socket_, buffer_, request_,
                     [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRequest(ec); });
  }

  void Close() {
    beast::error_code ignored;
    timer_.cancel();
    socket_.close(ignored);
  }

  void Resume() { NextToken(); }

 private:
  void OnRequest(beast::error_code ec) {
    if (ec) return Done();
    if (request_.target() == "/metrics") return ServeMetrics();
    const int n = ++server_.requests_;
    if (server_.options_.reject_every > 0 && n % server_.options_.reject_every == 0) {
      server_.rejected_++;
      const std::string body = R"({"error":{"message":"too many requests","type":"rate_limit"}})";
      return Write(
          "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: " +
              std::to_string(body.size()) + "\r\n\r\n" + body,
          [this] { Done(); });
    }
    auto j = nlohmann::json::parse(request_.body(), nullptr, false);
    if (!j.is_object()) j = nlohmann::json::object();  // a bad body gets the defaults, not an exception
    max_tokens_ = j.value("max_tokens", 16);
    const auto prompt = j.find("prompt");
    prompt_tokens_ = prompt != j.end() && prompt->is_array() ? static_cast<int>(prompt->size())
                                                             : server_.options_.text_prompt_tokens;
    chat_ = j.contains("messages");
    const int open = ++server_.open_streams_;
    int seen = server_.max_open_streams_;
    while (open > seen && !server_.max_open_streams_.compare_exchange_weak(seen, open)) {
    }
    streaming_ = true;
    Write(
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        [this] { NextToken(); });
  }

  void ServeMetrics() {
    const int k = server_.metrics_scrapes_++;
    if (!server_.options_.serve_metrics) {
      return Write("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", [this] { Done(); });
    }
    std::string body = "# TYPE fpgaserve_device_power_watts gauge\n";
    auto gauge = [&](const char* device, int watts) {
      body += "fpgaserve_device_power_watts{device=\"" + std::string(device) + "\",model=\"fake\"} " +
              std::to_string(watts) + "\n";
    };
    if (!server_.options_.metrics_host_only) {
      gauge("fake0", 10 + k);
      gauge("fake1", 20 + k);
    }
    gauge("host", 50 + k);
    Write("HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nConnection: close\r\nContent-Length: " +
              std::to_string(body.size()) + "\r\n\r\n" + body,
          [this] { Done(); });
  }

  void NextToken() {
    if (sent_ == max_tokens_) return Finish();
    const std::string event = chat_ ? R"({"choices":[{"index":0,"delta":{"content":"t"}}]})"
                                    : R"({"choices":[{"index":0,"text":"t"}]})";
    sent_++;
    Write(Chunk("data: " + event + "\n\n"), [this] {
      const int hold = server_.options_.hold_until_open;
      if (sent_ == 1 && hold > 0 && !released_) return Park();
      if (server_.options_.chunk_delay_ms <= 0) return NextToken();
      timer_.expires_after(std::chrono::milliseconds(server_.options_.chunk_delay_ms));
      timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
        if (!ec) self->NextToken();
      });
    });
  }

  // Waits for hold_until_open streams; the last to arrive releases everyone.
  void Park() {
    impl_.parked.push_back(shared_from_this());
    if (server_.open_streams_ >= server_.options_.hold_until_open) ReleaseParked(impl_);
  }

 public:
  static void ReleaseParked(FakeOpenAiServer::Impl& im) {
    auto parked = std::move(im.parked);
    im.parked.clear();
    for (auto& c : parked) {
      c->released_ = true;
      c->NextToken();
    }
  }

 private:
  void Finish() {
    std::string tail;
    if (server_.options_.send_usage) {
      const nlohmann::json usage = {{"choices", nlohmann::json::array()},
                                    {"usage",
                                     {{"prompt_tokens", prompt_tokens_},
                                      {"completion_tokens", sent_},
                                      {"total_tokens", prompt_tokens_ + sent_}}}};
      tail += Chunk("data: " + usage.dump() + "\n\n");
    }
    tail += Chunk("data: [DONE]\n\n") + "0\r\n\r\n";
    Write(tail, [this] {
      server_.tokens_served_ += sent_;
      server_.prompt_tokens_served_ += prompt_tokens_;
      server_.streams_completed_++;  // last: a test that waited for this count sees the tokens too
      Done();
    });
  }

  template <typename Then>
  void Write(std::string bytes, Then then) {
    out_ = std::move(bytes);
    asio::async_write(socket_, asio::buffer(out_), [self = shared_from_this(), then](beast::error_code ec, size_t) {
      if (ec) return self->Done();
      then();
    });
  }

  void Done() {
    if (done_) return;
    done_ = true;
    if (streaming_) server_.open_streams_--;
    Close();
    impl_.open.erase(shared_from_this());
  }

  FakeOpenAiServer& server_;
  FakeOpenAiServer::Impl& impl_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  std::string out_;
  int max_tokens_ = 0, prompt_tokens_ = 0, sent_ = 0;
  bool chat_ = false, streaming_ = false, released_ = false, done_ = false;
};

void Accept(FakeOpenAiServer& server, FakeOpenAiServer::Impl& im) {
  im.acceptor.async_accept([&server, &im](beast::error_code ec, tcp::socket socket) {
    if (ec) return;  // closed by Kill()
    auto c = std::make_shared<Connection>(server, im, std::move(socket));
    im.open.insert(c);
    c->Start();
    Accept(server, im);
  });
}

}  // namespace

FakeOpenAiServer::FakeOpenAiServer(FakeServerOptions options) : options_(options), impl_(std::make_unique<Impl>()) {
  tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(endpoint.protocol());
  impl_->acceptor.set_option(asio::socket_base::reuse_address(true));
  impl_->acceptor.bind(endpoint);
  impl_->acceptor.listen(4096);  // a thousand clients connect at once
  port_ = impl_->acceptor.local_endpoint().port();
  Accept(*this, *impl_);
  if (options_.hold_until_open > 0) {  // never hang a test: release parked streams after 20 s regardless
    impl_->park_deadline.expires_after(std::chrono::seconds(20));
    impl_->park_deadline.async_wait([im = impl_.get()](beast::error_code ec) {
      if (!ec) Connection::ReleaseParked(*im);
    });
  }
  thread_ = std::thread([im = impl_.get()] { im->ioc.run(); });
}

FakeOpenAiServer::~FakeOpenAiServer() { Kill(); }

void FakeOpenAiServer::Kill() {
  if (!thread_.joinable()) return;
  asio::post(impl_->ioc, [im = impl_.get()] {
    beast::error_code ignored;
    im->acceptor.close(ignored);
    im->park_deadline.cancel();
    im->parked.clear();
    auto open = std::move(im->open);
    for (auto& c : open) c->Close();
  });
  thread_.join();
}

}  // namespace fpgaserve::testing
