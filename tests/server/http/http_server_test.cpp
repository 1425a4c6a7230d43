// HttpServer in-process with a FakeBackend: the life-cycle answers of /health and generation (loading,
// ready, no healthy card, draining) over real loopback HTTP, and Stop, timed by a FakeClock.
#include "server/http/http_server.h"

#include <future>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>

#include "server/api/fake_backend.h"
#include "server/api/http_test_util.h"

namespace fpgaserve {
namespace {

using std::chrono::milliseconds;

class HttpServerTest : public ::testing::Test {
 protected:
  void Start() {
    ASSERT_TRUE(Bind());
    thread_ = std::thread([this] { server_->Serve(); });
  }
  bool Bind() {
    ServerConfig config;
    config.port = 0;
    config.http_threads = 2;
    config.http_keep_alive_timeout_s = 1;
    server_ = std::make_unique<HttpServer>(config, "tiny", std::make_shared<prometheus::Registry>(), &clock_);
    auto port = server_->Bind();
    EXPECT_TRUE(port.ok()) << port.status().message();
    port_ = port.ok() ? port.value() : 0;
    return port.ok();
  }
  void TearDown() override {
    if (server_) server_->Stop();
    if (thread_.joinable()) thread_.join();
  }
  httplib::Result Get(const std::string& path) { return httplib::Client("127.0.0.1", port_).Get(path); }
  httplib::Result Complete() {
    return httplib::Client("127.0.0.1", port_)
        .Post("/v1/completions", R"({"prompt":"a","max_tokens":3})", "application/json");
  }
  // Starts a streamed completion on a client thread; returns once its first bytes arrived (the request is in
  // flight then). *body collects the whole stream.
  std::thread StartStream(std::string* body) {
    auto first = std::make_shared<std::promise<void>>();
    std::future<void> arrived = first->get_future();
    std::thread client([this, body, first] {
      httplib::Client c("127.0.0.1", port_);
      httplib::Request req;
      req.method = "POST";
      req.path = "/v1/completions";
      req.body = R"({"prompt":"a","max_tokens":100,"stream":true})";
      req.set_header("Content-Type", "application/json");
      bool told = false;
      req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
        body->append(data, n);
        if (!told) first->set_value();
        told = true;
        return true;
      };
      c.send(req);
      if (!told) first->set_value();  // failed before any byte: let the test go on and fail on *body
    });
    arrived.wait();
    return client;
  }

  testing::TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
  int port_ = 0;
};

TEST_F(HttpServerTest, LoadingThenReadyThenDraining) {
  Start();
  auto loading = Get("/health");
  ASSERT_TRUE(loading);
  EXPECT_EQ(loading->status, 503);
  EXPECT_NE(loading->body.find("loading"), std::string::npos);
  auto early = Complete();
  ASSERT_TRUE(early);
  EXPECT_EQ(early->status, 503);
  EXPECT_NE(early->body.find("\"code\":\"loading\""), std::string::npos);

  testing::FakeBackend backend({});
  server_->SetReady(testing::LoadTestTokenizer(dir_), &backend);
  EXPECT_EQ(Get("/health")->status, 200);
  auto ok = Complete();
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;
  EXPECT_NE(ok->body.find("Hello!"), std::string::npos);

  server_->StartDrain();
  auto draining = Get("/health");
  EXPECT_EQ(draining->status, 503);
  EXPECT_NE(draining->body.find("draining"), std::string::npos);
  auto late = Complete();
  EXPECT_EQ(late->status, 503);
  EXPECT_NE(late->body.find("\"code\":\"draining\""), std::string::npos);
}

TEST_F(HttpServerTest, NoHealthyCardIs503) {
  Start();
  testing::FakeScript script;
  script.healthy_cards = 0;
  testing::FakeBackend backend(script);
  server_->SetReady(testing::LoadTestTokenizer(dir_), &backend);
  auto health = Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 503);
  EXPECT_NE(health->body.find("no healthy card"), std::string::npos);
}

// The clock never moves here: Stop returns because the cancelled stream finished, not on a timer.
TEST_F(HttpServerTest, StopCancelsAStreamWithAnErrorEvent) {
  Start();
  testing::FakeScript script;
  script.pieces = std::vector<std::string>(2000, "x");
  script.delay = milliseconds(2);
  testing::FakeBackend backend(script);
  server_->SetReady(testing::LoadTestTokenizer(dir_), &backend);
  std::string body;
  std::thread client = StartStream(&body);
  EXPECT_EQ(server_->in_flight(), 1);
  const Clock::TimePoint before = clock_.Now();
  server_->Stop();
  EXPECT_EQ(clock_.Now(), before);
  EXPECT_EQ(server_->in_flight(), 0);
  client.join();
  thread_.join();
  EXPECT_NE(body.find("\"code\":\"cancelled\""), std::string::npos) << body;
  EXPECT_NE(body.find("data: [DONE]"), std::string::npos);
  EXPECT_EQ(backend.cancelled(), 1);
}

// A request that does not end when cancelled (a stuck card) holds Stop for 1 s of the clock's time; then the
// listener and every connection close (the stuck stream's client sees its stream cut), and Serve() returns.
TEST_F(HttpServerTest, StopWaitsOneSecondOfClockTimeForARequestThatDoesNotEnd) {
  Start();
  testing::FakeScript script;
  script.hold_after_first = true;
  testing::FakeBackend backend(script);
  server_->SetReady(testing::LoadTestTokenizer(dir_), &backend);
  std::string body;
  std::thread client = StartStream(&body);
  const Clock::TimePoint start = clock_.Now();
  Clock::TimePoint stopped_at;
  std::thread stopper([&] {
    server_->Stop();
    stopped_at = clock_.Now();
  });
  while (clock_.Waiters() < 1) std::this_thread::yield();  // Stop's wait (a stream waits on no clock)
  clock_.Advance(milliseconds(999));
  clock_.Advance(milliseconds(1));
  stopper.join();
  EXPECT_EQ(stopped_at - start, milliseconds(1000));
  thread_.join();  // Serve() returns: the stuck stream's connection was closed
  client.join();
  EXPECT_EQ(server_->in_flight(), 0);
  EXPECT_NE(body.find("Hel"), std::string::npos) << body;
  EXPECT_EQ(body.find("data: [DONE]"), std::string::npos) << body;
  backend.Release();
}

// A client that goes away before the first token (a long prefill) cancels its sequences at once: the
// transport watches the connection while the request is handled, not only when it next writes.
TEST_F(HttpServerTest, AClientThatLeavesDuringPrefillCancelsItsSequences) {
  Start();
  testing::FakeScript script;
  script.delay = milliseconds(1500);  // before the first token
  testing::FakeBackend backend(script);
  server_->SetReady(testing::LoadTestTokenizer(dir_), &backend);
  for (const bool stream : {false, true}) {
    const int cancelled_before = backend.cancelled();
    {
      httplib::Client c("127.0.0.1", port_);
      c.set_read_timeout(0, 200000);  // gives up (and closes) after 200 ms without an answer
      auto res = c.Post("/v1/completions",
                        std::string(R"({"prompt":"a","max_tokens":3,"stream":)") + (stream ? "true}" : "false}"),
                        "application/json");
      EXPECT_FALSE(res);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    while (backend.cancelled() == cancelled_before && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(milliseconds(5));
    }
    EXPECT_EQ(backend.cancelled(), cancelled_before + 1) << (stream ? "stream" : "not streamed");
  }
}

// Two servers on one port: the second is refused (no SO_REUSEPORT unless configured).
TEST_F(HttpServerTest, ASecondServerOnTheSamePortIsAddressInUse) {
  Start();
  ServerConfig config;
  config.port = port_;
  HttpServer second(config, "tiny", std::make_shared<prometheus::Registry>(), &clock_);
  auto bound = second.Bind();
  ASSERT_FALSE(bound.ok());
  EXPECT_NE(bound.status().message().find("address in use"), std::string::npos) << bound.status().message();
}

TEST_F(HttpServerTest, MetricsCountConnections) {
  Start();
  EXPECT_EQ(Get("/health")->status, 503);  // loading
  auto metrics = Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("fpgaserve_http_connections_total"), std::string::npos) << metrics->body;
  EXPECT_NE(metrics->body.find("fpgaserve_http_connections_open "), std::string::npos) << metrics->body;
  EXPECT_NE(metrics->body.find("fpgaserve_http_deadline_expired_total{phase=\"write\"} 0"), std::string::npos);
  EXPECT_NE(metrics->body.find("fpgaserve_http_connections_rejected_total{reason=\"cap\"} 0"), std::string::npos);
}

// A start-up failure may stop the server before Serve() has begun on its thread: Serve() then returns at once.
TEST_F(HttpServerTest, StopBeforeServeMakesServeReturnAtOnce) {
  ASSERT_TRUE(Bind());
  server_->Stop();
  server_->Serve();  // returns: before, Stop() did nothing until the accept loop ran, and this hung
}

}  // namespace
}  // namespace fpgaserve
