// HttpServer in-process with a FakeBackend: the life-cycle answers of /health and generation (loading,
// ready, no healthy card, draining) over real loopback HTTP.
#include "server/http/http_server.h"

#include <gtest/gtest.h>

#include <thread>

#include "fake_backend.h"
#include "http_test_util.h"

namespace fpgaserve {
namespace {

class HttpServerTest : public ::testing::Test {
 protected:
  void Start() {
    ServerConfig config;
    config.port = 0;
    config.http_threads = 8;
    config.http_keep_alive_timeout_s = 1;
    server_ = std::make_unique<HttpServer>(config, "tiny", std::make_shared<prometheus::Registry>());
    auto port = server_->Bind();
    ASSERT_TRUE(port.ok()) << port.status().message();
    port_ = port.value();
    thread_ = std::thread([this] { server_->Serve(); });
  }
  void TearDown() override {
    if (server_) server_->Stop();
    if (thread_.joinable()) thread_.join();
  }
  httplib::Result Get(const std::string& path) { return httplib::Client("127.0.0.1", port_).Get(path); }
  httplib::Result Complete() {
    return httplib::Client("127.0.0.1", port_).Post("/v1/completions", R"({"prompt":"a","max_tokens":3})",
                                                   "application/json");
  }

  testing::TempDir dir_;
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

TEST_F(HttpServerTest, StopCancelsAStreamWithAnErrorEvent) {
  Start();
  testing::FakeScript script;
  script.pieces = std::vector<std::string>(2000, "x");
  script.delay = std::chrono::milliseconds(2);
  testing::FakeBackend backend(script);
  server_->SetReady(testing::LoadTestTokenizer(dir_), &backend);
  std::string body;
  std::thread client([&] {
    auto r = httplib::Client("127.0.0.1", port_)
                 .Post("/v1/completions", R"({"prompt":"a","max_tokens":100,"stream":true})", "application/json");
    if (r) body = r->body;
  });
  for (int i = 0; i < 200 && server_->in_flight() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(server_->in_flight(), 1);
  server_->Stop();
  client.join();
  thread_.join();
  EXPECT_NE(body.find("\"code\":\"cancelled\""), std::string::npos) << body;
  EXPECT_NE(body.find("data: [DONE]"), std::string::npos);
  EXPECT_EQ(backend.cancelled(), 1);
}

}  // namespace
}  // namespace fpgaserve
