// Exchange: streams pulled from a BodySource (Wake, the kWait timer, keep-alive after the last chunk), and
// closed() when the client leaves while its request is handled or streamed.
#include "server/net/exchange.h"

#include <atomic>
#include <mutex>

#include "net_test_util.h"

namespace fpgaserve::net {
namespace {

// Gives "a", then waits for a Wake; gives "b", then waits 100 ms on its own timer; gives "c" and ends.
class ScriptedSource : public BodySource {
 public:
  PullResult Pull(Clock::time_point now, size_t, std::string* out) override {
    ++pulls;
    switch (step.load()) {
      case 0:
        step = 1;
        *out = "a";
        // On the strand the posted wake cannot run before this returns: a thousand Wakes are one more pull.
        for (int i = 0; i < 1000; ++i) exchange.lock()->Wake();
        return {PullState::kWait, Clock::time_point::max()};
      case 1:
        if (!woken.load()) return {PullState::kWait, Clock::time_point::max()};
        step = 2;
        *out = "b";
        timer_from = now;
        return {PullState::kWait, now + milliseconds(100)};
      case 2:
        if (now < timer_from + milliseconds(100)) return {PullState::kWait, timer_from + milliseconds(100)};
        step = 3;
        *out = "c";
        return {PullState::kEnd, {}};
      default: return {PullState::kEnd, {}};
    }
  }
  std::atomic<int> step{0};
  std::atomic<bool> woken{false};
  std::atomic<int> pulls{0};
  Clock::time_point timer_from;      // on the strand only
  std::weak_ptr<Exchange> exchange;  // set before Stream
};

struct Held {
  std::mutex mu;
  std::shared_ptr<Exchange> exchange;
  std::shared_ptr<Exchange> Get() {
    std::lock_guard<std::mutex> lock(mu);
    return exchange;
  }
};

TEST(ExchangeTest, StreamWakeAndKeepAliveTimer) {
  auto source = std::make_shared<ScriptedSource>();
  Held held;
  TestServer server(TransportOptions{}, [&](std::shared_ptr<Exchange> exchange) {
    if (exchange->request().path != "/stream") return EchoPath(std::move(exchange));
    source->exchange = exchange;
    exchange->Stream(ResponseHead{200, {{"Cache-Control", "no-cache"}}, "text/event-stream"}, source);
    std::lock_guard<std::mutex> lock(held.mu);
    held.exchange = std::move(exchange);
  });
  RawClient client(server.port());
  ASSERT_TRUE(client.Send(Get("/stream")));
  ASSERT_TRUE(client.ReadUntil("\r\n1\r\na\r\n")) << client.buffer();
  EXPECT_NE(client.buffer().find("Transfer-Encoding: chunked"), std::string::npos);
  EXPECT_NE(client.buffer().find("Content-Type: text/event-stream"), std::string::npos);
  EXPECT_EQ(server.metrics().streams_open.load(), 1);
  // Nothing more until woken; the thousand Wakes made during the first pull were one more pull.
  client.ReadSome(milliseconds(100));
  EXPECT_EQ(client.buffer().find("\r\nb\r\n"), std::string::npos);
  EXPECT_TRUE(WaitFor([&] { return source->pulls.load() >= 2; }));
  EXPECT_EQ(source->pulls.load(), 2);
  source->woken = true;
  for (int i = 0; i < 1000; ++i) held.Get()->Wake();  // from another thread, racing the strand
  const auto woken_at = Clock::now();
  ASSERT_TRUE(client.ReadUntil("1\r\nb\r\n"));
  // "c" comes from the source's own wake_at, 100 ms after "b", without a Wake; then the last chunk.
  ASSERT_TRUE(client.ReadUntil("1\r\nc\r\n0\r\n\r\n"));
  EXPECT_GE(Clock::now() - woken_at, milliseconds(90));
  EXPECT_TRUE(WaitFor([&] { return server.metrics().streams_open.load() == 0; }));
  // The connection is kept: the next request on it is answered.
  client.buffer().clear();
  ASSERT_TRUE(client.Send(Get("/after")));
  EXPECT_EQ(ReadReply(client).body, "/after");
  EXPECT_FALSE(held.Get()->closed().stop_requested());  // completed, not cut
  server.Stop();
  held.Get()->Wake();  // after the connection is gone: nothing happens
}

TEST(ExchangeTest, ClientEofWhileHandlingRequestsClosed) {
  Held held;
  TestServer server(TransportOptions{}, [&](std::shared_ptr<Exchange> exchange) {
    std::lock_guard<std::mutex> lock(held.mu);
    held.exchange = std::move(exchange);  // answered never: as a prefill that has not produced a token
  });
  RawClient client(server.port());
  ASSERT_TRUE(client.Send(Get("/slow")));
  ASSERT_TRUE(WaitFor([&] { return held.Get() != nullptr; }));
  std::atomic<bool> called{false};
  std::stop_callback on_close(held.Get()->closed(), [&] { called = true; });
  EXPECT_FALSE(called.load());
  client.Close();
  EXPECT_TRUE(WaitFor([&] { return called.load(); }, milliseconds(1000)));
  EXPECT_TRUE(WaitFor([&] { return server.metrics().connections_open.load() == 0; }));
  held.Get()->Reply(Response{});  // too late: ignored
}

// Gives one byte per Wake, forever.
class TrickleSource : public BodySource {
 public:
  PullResult Pull(Clock::time_point, size_t, std::string* out) override {
    if (ready.exchange(false)) *out = "x";
    return {PullState::kWait, Clock::time_point::max()};
  }
  std::atomic<bool> ready{true};
};

TEST(ExchangeTest, ClientGoneMidStreamRequestsClosed) {
  Held held;
  auto source = std::make_shared<TrickleSource>();
  TestServer server(TransportOptions{}, [&](std::shared_ptr<Exchange> exchange) {
    exchange->Stream(ResponseHead{}, source);
    std::lock_guard<std::mutex> lock(held.mu);
    held.exchange = std::move(exchange);
  });
  RawClient client(server.port());
  ASSERT_TRUE(client.Send(Get("/stream")));
  ASSERT_TRUE(client.ReadUntil("1\r\nx\r\n"));
  client.Close();
  EXPECT_TRUE(WaitFor([&] { return held.Get()->closed().stop_requested(); }, milliseconds(1000)));
  EXPECT_TRUE(WaitFor([&] { return server.metrics().streams_open.load() == 0; }));
  EXPECT_TRUE(WaitFor([&] { return source.use_count() == 1; }));  // the transport let go of the source
  source->ready = true;
  held.Get()->Wake();  // a no-op now
}

}  // namespace
}  // namespace fpgaserve::net
