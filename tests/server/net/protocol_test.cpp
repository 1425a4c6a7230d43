// HTTP/1.1 details the transport owns: Expect: 100-continue, pipelining, HEAD, the size limits (413 before the
// body, 431), malformed requests, the Request's fields, and an Exchange dropped unanswered.
#include <atomic>
#include <mutex>

#include "net_test_util.h"

namespace fpgaserve::net {
namespace {

// Answers with the request's body.
void EchoBody(std::shared_ptr<Exchange> exchange) {
  Response response;
  response.body = exchange->request().body;
  exchange->Reply(std::move(response));
}

TEST(ProtocolTest, Expect100Continue) {
  TestServer server(TransportOptions{}, EchoBody);
  RawClient client(server.port());
  ASSERT_TRUE(
      client.Send("POST /v1/completions HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"));
  // The interim answer comes before any body byte is sent.
  ASSERT_TRUE(client.ReadUntil("\r\n\r\n", milliseconds(2000))) << client.buffer();
  EXPECT_EQ(client.buffer(), "HTTP/1.1 100 Continue\r\n\r\n");
  client.buffer().clear();
  ASSERT_TRUE(client.Send("hello"));
  const Reply reply = ReadReply(client);
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, "hello");
}

TEST(ProtocolTest, PipelinedRequestsInOrder) {
  // The first request is answered last in time (from another thread, 100 ms later); the answers still come in
  // the order the requests were sent.
  std::vector<std::thread> late;
  std::mutex mu;
  TestServer server(TransportOptions{}, [&](std::shared_ptr<Exchange> exchange) {
    if (exchange->request().path == "/slow") {
      std::lock_guard<std::mutex> lock(mu);
      late.emplace_back([exchange] {
        std::this_thread::sleep_for(milliseconds(100));
        EchoPath(exchange);
      });
      return;
    }
    EchoPath(std::move(exchange));
  });
  RawClient client(server.port());
  ASSERT_TRUE(client.Send(Get("/slow") + Get("/b") + "POST /c HTTP/1.1\r\nContent-Length: 3\r\n\r\nxyz" + Get("/d")));
  EXPECT_EQ(ReadReply(client).body, "/slow");
  EXPECT_EQ(ReadReply(client).body, "/b");
  EXPECT_EQ(ReadReply(client).body, "/c");
  EXPECT_EQ(ReadReply(client).body, "/d");
  std::lock_guard<std::mutex> lock(mu);
  for (auto& thread : late) thread.join();
}

// A request that arrives while another is handled is parsed once, and the one after it is parsed as itself.
// (The transport used to read into the parser's buffer while parsing from it: the parse of /b emptied the
// buffer under the pending read, whose bytes, /c, were then committed over /b's, and /b ran twice.)
TEST(ProtocolTest, ARequestArrivingWhileAnotherIsHandledIsParsedOnce) {
  std::thread late;
  std::mutex mu;
  std::vector<std::string> handled;
  TestServer server(TransportOptions{}, [&](std::shared_ptr<Exchange> exchange) {
    {
      std::lock_guard<std::mutex> lock(mu);
      handled.push_back(exchange->request().path);
    }
    if (exchange->request().path != "/slow") return EchoPath(std::move(exchange));
    late = std::thread([exchange] {
      std::this_thread::sleep_for(milliseconds(200));
      EchoPath(exchange);
    });
  });
  RawClient client(server.port());
  ASSERT_TRUE(client.Send(Get("/slow")));
  std::this_thread::sleep_for(milliseconds(50));  // /slow is being handled
  ASSERT_TRUE(client.Send(Get("/b")));            // read ahead while it is
  EXPECT_EQ(ReadReply(client).body, "/slow");
  EXPECT_EQ(ReadReply(client).body, "/b");
  ASSERT_TRUE(client.Send(Get("/c")));  // the same length as /b
  EXPECT_EQ(ReadReply(client).body, "/c");
  std::this_thread::sleep_for(milliseconds(100));
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(handled, (std::vector<std::string>{"/slow", "/b", "/c"}));
  late.join();
}

TEST(ProtocolTest, PipelinedFloodWhileHandlingIsStillAnswered) {
  // More pipelined bytes than the transport reads ahead while the first answer is made (header_limit + 4 KiB):
  // it stops reading, keeps the connection, and answers them all afterwards.
  std::thread late;
  TestServer server(TransportOptions{}, [&](std::shared_ptr<Exchange> exchange) {
    if (exchange->request().path != "/first") return EchoPath(std::move(exchange));
    late = std::thread([exchange] {
      std::this_thread::sleep_for(milliseconds(200));
      EchoPath(exchange);
    });
  });
  RawClient client(server.port());
  std::string flood = Get("/first");
  constexpr int kMore = 1000;  // ~30 KiB
  for (int i = 0; i < kMore; ++i) flood += Get("/" + std::to_string(i));
  ASSERT_TRUE(client.Send(flood));
  EXPECT_EQ(ReadReply(client).body, "/first");
  for (int i = 0; i < kMore; ++i) ASSERT_EQ(ReadReply(client).body, "/" + std::to_string(i));
  late.join();
}

TEST(ProtocolTest, HeadHasNoBody) {
  TestServer server(TransportOptions{});
  RawClient client(server.port());
  ASSERT_TRUE(client.Send("HEAD /five HTTP/1.1\r\nHost: t\r\n\r\n"));
  const Reply head = ReadReply(client, /*head_only=*/true);
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.headers.at("content-length"), "5");  // the size a GET's body would have
  // No body bytes follow: the next answer on the connection starts right at its status line.
  ASSERT_TRUE(client.Send(Get("/next")));
  const Reply next = ReadReply(client);
  EXPECT_EQ(next.status, 200);
  EXPECT_EQ(next.body, "/next");
}

TEST(ProtocolTest, BodyOverLimitIs413BeforeTheBody) {
  TransportOptions options;
  options.body_limit = 1000;
  std::atomic<int> handled{0};
  TestServer server(options, [&](std::shared_ptr<Exchange> exchange) {
    ++handled;
    EchoBody(std::move(exchange));
  });
  RawClient client(server.port());
  ASSERT_TRUE(client.Send("POST /v1/completions HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n"));  // no body
  const Reply reply = ReadReply(client);
  EXPECT_EQ(reply.status, 413);
  EXPECT_EQ(reply.headers.at("connection"), "close");
  EXPECT_NE(reply.body.find("\"code\":413"), std::string::npos);
  EXPECT_EQ(handled.load(), 0);
  // A chunked body that grows past the limit is cut too.
  RawClient chunked(server.port());
  ASSERT_TRUE(chunked.Send("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + std::string("7d0\r\n") +
                           std::string(2000, 'a') + "\r\n"));
  EXPECT_EQ(ReadReply(chunked).status, 413);
  // At the limit is fine.
  RawClient fits(server.port());
  ASSERT_TRUE(fits.Send("POST / HTTP/1.1\r\nContent-Length: 1000\r\n\r\n" + std::string(1000, 'b')));
  const Reply ok = ReadReply(fits);
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body.size(), 1000u);
}

TEST(ProtocolTest, HugeHeaderIs431) {
  TransportOptions options;
  options.header_limit = 8192;
  TestServer server(options);
  RawClient client(server.port());
  ASSERT_TRUE(client.Send(Get("/", "X-Huge: " + std::string(10'000, 'h') + "\r\n")));
  const Reply reply = ReadReply(client);
  EXPECT_EQ(reply.status, 431);
  EXPECT_EQ(reply.headers.at("connection"), "close");
  EXPECT_TRUE(client.WaitClosed(milliseconds(2000)).has_value());
}

TEST(ProtocolTest, MalformedRequestIs400) {
  TestServer server(TransportOptions{});
  RawClient client(server.port());
  ASSERT_TRUE(client.Send("GET / HTTP/1.1\r\nBad Header Without Colon\r\n\r\n"));
  const Reply reply = ReadReply(client);
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(reply.headers.at("content-type"), "application/json");
  EXPECT_TRUE(client.WaitClosed(milliseconds(2000)).has_value());
}

TEST(ProtocolTest, RequestCarriesMethodPathQueryHeadersPeer) {
  std::mutex mu;
  std::optional<Request> seen;
  TestServer server(TransportOptions{}, [&](std::shared_ptr<Exchange> exchange) {
    {
      std::lock_guard<std::mutex> lock(mu);
      seen = exchange->request();
    }
    exchange->Reply(Response{201, {{"X-Answer", "42"}}, "made", "text/plain"});
  });
  RawClient client(server.port());
  ASSERT_TRUE(
      client.Send("POST /v1/x?a=1&b=2 HTTP/1.1\r\nAuthorization: Bearer k\r\nContent-Length: 2\r\n"
                  "Connection: close\r\n\r\nhi"));
  const Reply reply = ReadReply(client);
  EXPECT_EQ(reply.status, 201);
  EXPECT_EQ(reply.headers.at("x-answer"), "42");
  EXPECT_EQ(reply.headers.at("connection"), "close");  // the client asked for it
  EXPECT_EQ(reply.body, "made");
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->method, "POST");
  EXPECT_EQ(seen->target, "/v1/x?a=1&b=2");
  EXPECT_EQ(seen->path, "/v1/x");
  EXPECT_EQ(seen->query, "a=1&b=2");
  EXPECT_EQ(seen->header("authorization"), "Bearer k");
  EXPECT_EQ(seen->header("AUTHORIZATION"), "Bearer k");
  EXPECT_EQ(seen->header("x-absent"), "");
  EXPECT_EQ(seen->body, "hi");
  EXPECT_EQ(seen->peer, "127.0.0.1");
  EXPECT_FALSE(seen->keep_alive);
}

TEST(ProtocolTest, ExchangeDroppedUnansweredIs500) {
  TestServer server(TransportOptions{}, [](std::shared_ptr<Exchange>) {});
  RawClient client(server.port());
  ASSERT_TRUE(client.Send(Get("/")));
  EXPECT_EQ(ReadReply(client).status, 500);
}

}  // namespace
}  // namespace fpgaserve::net
