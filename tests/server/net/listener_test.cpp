// Listener: binding (address in use, SO_REUSEPORT only when asked), the connection cap, Close, and the thread
// count staying flat however many connections are open.
#include "server/net/listener.h"

#include <sys/resource.h>

#include <atomic>
#include <mutex>

#include <dirent.h>

#include "net_test_util.h"

namespace fpgaserve::net {
namespace {

TEST(ListenerTest, SecondBindIsAddressInUse) {
  TestServer first(TransportOptions{});
  boost::asio::io_context io;
  LambdaHandler handler(EchoPath);
  TransportOptions options;
  options.port = first.port();
  Listener second(io, options, &handler);
  const Result<int> port = second.Bind();
  ASSERT_FALSE(port.ok());
  EXPECT_EQ(port.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(port.status().message().find("address in use"), std::string::npos) << port.status().message();
  EXPECT_NE(port.status().message().find("127.0.0.1:" + std::to_string(first.port())), std::string::npos);
}

TEST(ListenerTest, ReusePortOnlyWhenAsked) {
  boost::asio::io_context io;
  LambdaHandler handler(EchoPath);
  TransportOptions plain;
  Listener a(io, plain, &handler);
  const Result<int> port_a = a.Bind();
  ASSERT_TRUE(port_a.ok());
  // One side without SO_REUSEPORT: the kernel refuses to share the port.
  TransportOptions reuse;
  reuse.reuse_port = true;
  reuse.port = *port_a;
  Listener b(io, reuse, &handler);
  const Result<int> port_b = b.Bind();
  ASSERT_FALSE(port_b.ok());
  EXPECT_NE(port_b.status().message().find("address in use"), std::string::npos);
  // Both asked for it: they share one.
  reuse.port = 0;
  Listener c(io, reuse, &handler);
  const Result<int> port_c = c.Bind();
  ASSERT_TRUE(port_c.ok());
  reuse.port = *port_c;
  Listener d(io, reuse, &handler);
  const Result<int> port_d = d.Bind();
  ASSERT_TRUE(port_d.ok()) << port_d.status().ToString();
  EXPECT_EQ(*port_d, *port_c);
}

TEST(ListenerTest, ConnectionCapIs503AndCounted) {
  TransportOptions options;
  options.max_connections = 4;
  TestServer server(options);
  std::vector<std::unique_ptr<RawClient>> held;
  for (int i = 0; i < 4; ++i) held.push_back(std::make_unique<RawClient>(server.port()));
  ASSERT_TRUE(WaitFor([&] { return server.metrics().connections_open.load() == 4; }));

  RawClient fifth(server.port());
  ASSERT_TRUE(fifth.Send(Get("/health")));
  const Reply reply = ReadReply(fifth);
  EXPECT_EQ(reply.status, 503);
  EXPECT_EQ(reply.headers.at("connection"), "close");
  EXPECT_EQ(reply.headers.at("retry-after"), "1");
  EXPECT_EQ(reply.headers.at("content-type"), "application/json");
  EXPECT_NE(reply.body.find("\"code\":503"), std::string::npos) << reply.body;  // Handler::ErrorBody's shape
  EXPECT_TRUE(fifth.WaitClosed(milliseconds(2000)).has_value());
  EXPECT_EQ(server.metrics().connections_rejected.load(), 1u);
  EXPECT_EQ(server.metrics().connections_open.load(), 4);

  held[0]->Close();  // one slot frees: the next connection is served
  ASSERT_TRUE(WaitFor([&] { return server.metrics().connections_open.load() == 3; }));
  RawClient next(server.port());
  ASSERT_TRUE(next.Send(Get("/health")));
  const Reply served = ReadReply(next);
  EXPECT_EQ(served.status, 200);
  EXPECT_EQ(served.body, "/health");
  EXPECT_EQ(server.metrics().connections_total.load(), 5u);
}

// The number the next new descriptor would get (the lowest free one): a soft limit at it makes every new
// descriptor fail with EMFILE.
int LowestFreeDescriptor() {
  const int fd = dup(0);
  close(fd);
  return fd;
}

TEST(ListenerTest, OutOfDescriptorsRetriesAccept) {
#ifdef __SANITIZE_ADDRESS__
  // UBSan's vptr check tests whether memory is readable by writing it into a pipe: with no descriptor left
  // that fails, and every virtual call is then reported as on an invalid object. TSan and plain runs cover it.
  GTEST_SKIP() << "needs descriptors for the sanitizer's own checks";
#endif
  TestServer server(TransportOptions{});
  constexpr int kClients = 3;
  std::vector<int> sockets;  // made while descriptors remain; connected once none do
  for (int i = 0; i < kClients; ++i) sockets.push_back(socket(AF_INET, SOCK_STREAM, 0));
  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
  rlimit none = saved;
  none.rlim_cur = static_cast<rlim_t>(LowestFreeDescriptor());  // accept now fails with EMFILE
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &none), 0);
  std::vector<std::unique_ptr<RawClient>> clients;
  for (int fd : sockets) clients.push_back(std::make_unique<RawClient>(fd, server.port()));
  std::this_thread::sleep_for(milliseconds(200));  // several failed accepts and retries
  const int64_t open_while_out = server.metrics().connections_open.load();
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &saved), 0);
  EXPECT_EQ(open_while_out, 0);
  for (auto& client : clients) EXPECT_TRUE(client->connected());  // completed by the kernel's backlog
  // Descriptors again: the retry (every 50 ms) accepts them all, and they are served.
  ASSERT_TRUE(WaitFor([&] { return server.metrics().connections_open.load() == kClients; }, milliseconds(1000)));
  for (auto& client : clients) {
    ASSERT_TRUE(client->Send(Get("/after")));
    EXPECT_EQ(ReadReply(*client).body, "/after");
  }
}

int ThreadCount() {
  int count = 0;
  DIR* dir = opendir("/proc/self/task");
  while (dirent* entry = readdir(dir)) count += entry->d_name[0] != '.';
  closedir(dir);
  return count;
}

TEST(ListenerTest, ThreadCountIndependentOfConnections) {
  TransportOptions options;
  options.idle_timeout = milliseconds(30'000);
  TestServer server(options);
  // Warm up: one request, so that whatever the first connection starts lazily is there in both counts.
  {
    RawClient warm(server.port());
    ASSERT_TRUE(warm.Send(Get("/")));
    ASSERT_EQ(ReadReply(warm).status, 200);
  }
  ASSERT_TRUE(WaitFor([&] { return server.metrics().connections_open.load() == 0; }));
  const int before = ThreadCount();
  std::vector<std::unique_ptr<RawClient>> clients;
  for (int i = 0; i < 2000; ++i) {
    clients.push_back(std::make_unique<RawClient>(server.port()));
    ASSERT_TRUE(clients.back()->connected()) << i;
  }
  ASSERT_TRUE(WaitFor([&] { return server.metrics().connections_open.load() == 2000; }, milliseconds(10'000)))
      << server.metrics().connections_open.load();
  EXPECT_EQ(ThreadCount(), before);
  // And they are served: one request on the last connection.
  ASSERT_TRUE(clients.back()->Send(Get("/last")));
  EXPECT_EQ(ReadReply(*clients.back()).body, "/last");
}

TEST(ListenerTest, CloseEndsEveryConnection) {
  std::mutex mu;
  std::vector<std::shared_ptr<Exchange>> held;  // requests left unanswered: Close must end them too
  TransportOptions options;
  TestServer server(options, [&](std::shared_ptr<Exchange> exchange) {
    std::lock_guard<std::mutex> lock(mu);
    held.push_back(std::move(exchange));
  });
  std::vector<std::unique_ptr<RawClient>> clients;
  for (int i = 0; i < 10; ++i) {
    clients.push_back(std::make_unique<RawClient>(server.port()));
    if (i % 2 == 0) {
      ASSERT_TRUE(clients.back()->Send(Get("/hold")));  // handling; the others idle
    }
  }
  ASSERT_TRUE(WaitFor([&] {
    std::lock_guard<std::mutex> lock(mu);
    return held.size() == 5;
  }));
  ASSERT_TRUE(WaitFor([&] { return server.metrics().connections_open.load() == 10; }));  // the idle ones too

  const auto start = Clock::now();
  server.Stop();  // Close, then the I/O threads run out of work
  EXPECT_LT(Clock::now() - start, milliseconds(1000));
  for (auto& client : clients) EXPECT_TRUE(client->WaitClosed(milliseconds(1000)).has_value());
  for (auto& exchange : held) {
    EXPECT_TRUE(exchange->closed().stop_requested());
    exchange->Reply(Response{});  // the connection is gone: a no-op
    exchange->Wake();
  }
  EXPECT_EQ(server.metrics().connections_open.load(), 0);
}

}  // namespace
}  // namespace fpgaserve::net
