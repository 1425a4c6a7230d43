// Test helpers for the transport: a Listener on loopback run by two I/O threads (as the daemon runs it), a
// Handler made of a lambda, and a raw-socket HTTP client that can misbehave (send slowly, never read, leave
// mid-answer), which a library client cannot.
#pragma once

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>

#include "server/net/listener.h"

namespace fpgaserve::net {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Handler from lambdas; error bodies look like {"error":{"code":413,"message":"..."}}.
class LambdaHandler : public Handler {
 public:
  explicit LambdaHandler(std::function<void(std::shared_ptr<Exchange>)> handle) : handle_(std::move(handle)) {}
  void Handle(std::shared_ptr<Exchange> exchange) override { handle_(std::move(exchange)); }
  std::string ErrorBody(int status, std::string_view message) override {
    return "{\"error\":{\"code\":" + std::to_string(status) + ",\"message\":\"" + std::string(message) + "\"}}";
  }

 private:
  std::function<void(std::shared_ptr<Exchange>)> handle_;
};

// Answers every request with its path as the body.
inline void EchoPath(std::shared_ptr<Exchange> exchange) {
  Response response;
  response.body = exchange->request().path;
  response.content_type = "text/plain";
  exchange->Reply(std::move(response));
}

// A Listener on 127.0.0.1 (a free port) with two I/O threads. Stop() closes it and joins the threads.
class TestServer {
 public:
  explicit TestServer(TransportOptions options, std::function<void(std::shared_ptr<Exchange>)> handle = EchoPath)
      : handler_(std::move(handle)) {
    options.host = "127.0.0.1";
    options.port = 0;
    listener_ = std::make_unique<Listener>(io_, options, &handler_);
    Result<int> port = listener_->Bind();
    EXPECT_TRUE(port.ok()) << port.status().ToString();
    port_ = port.ok() ? *port : 0;
    listener_->Start();
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io_.run(); });
  }
  ~TestServer() { Stop(); }

  // Closes the listener and waits for the I/O threads to run out of work.
  void Stop() {
    if (threads_.empty()) return;
    listener_->Close();
    for (auto& thread : threads_) thread.join();
    threads_.clear();
  }

  int port() const { return port_; }
  const TransportMetrics& metrics() const { return listener_->metrics(); }

 private:
  boost::asio::io_context io_;
  LambdaHandler handler_;
  std::unique_ptr<Listener> listener_;
  int port_ = 0;
  std::vector<std::thread> threads_;
};

// Waits up to `timeout` for `done()`.
template <typename Done>
bool WaitFor(Done done, milliseconds timeout = milliseconds(3000)) {
  const auto end = Clock::now() + timeout;
  while (!done()) {
    if (Clock::now() > end) return false;
    std::this_thread::sleep_for(milliseconds(2));
  }
  return true;
}

// A blocking loopback TCP client socket; closed by the destructor.
class RawClient {
 public:
  explicit RawClient(int port) : RawClient(socket(AF_INET, SOCK_STREAM, 0), port) {}
  // Connects `fd`, a TCP socket made earlier (a test that runs out of descriptors makes them first).
  RawClient(int fd, int port) : fd_(fd) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    const int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~RawClient() { Close(); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool connected() const { return connected_; }
  int fd() const { return fd_; }
  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

  bool Send(const std::string& bytes) {
    size_t sent = 0;
    while (sent < bytes.size()) {
      const ssize_t n = send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<size_t>(n);
    }
    return true;
  }

  // Reads what arrives within `timeout` into the buffer. Returns false on EOF or reset (closed() then true).
  bool ReadSome(milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return true;
    char chunk[16384];
    const ssize_t n = recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) {
      closed_ = true;
      return false;
    }
    buffer_.append(chunk, static_cast<size_t>(n));
    return true;
  }

  // Reads until the buffer holds `text` (true) or the peer closes or `timeout` passes (false).
  bool ReadUntil(const std::string& text, milliseconds timeout = milliseconds(3000)) {
    const auto end = Clock::now() + timeout;
    while (buffer_.find(text) == std::string::npos) {
      const auto left = std::chrono::duration_cast<milliseconds>(end - Clock::now());
      if (left.count() <= 0 || !ReadSome(left)) return buffer_.find(text) != std::string::npos;
    }
    return true;
  }

  // Waits for EOF or reset, dropping what arrives; returns the time it took, nullopt if none within `timeout`.
  std::optional<Clock::duration> WaitClosed(milliseconds timeout) {
    const auto start = Clock::now();
    while (Clock::now() - start < timeout) {
      if (!ReadSome(milliseconds(20))) return Clock::now() - start;
    }
    return std::nullopt;
  }

  std::string& buffer() { return buffer_; }
  bool closed() const { return closed_; }

 private:
  int fd_ = -1;
  bool connected_ = false;
  bool closed_ = false;
  std::string buffer_;
};

struct Reply {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower case
  std::string body;
  bool complete = false;
};

// Reads one response from `client` (its buffer may hold more: pipelining). `head_only`: a HEAD answer.
inline Reply ReadReply(RawClient& client, bool head_only = false, milliseconds timeout = milliseconds(3000)) {
  Reply reply;
  if (!client.ReadUntil("\r\n\r\n", timeout)) return reply;
  std::string& buffer = client.buffer();
  const size_t end = buffer.find("\r\n\r\n");
  const std::string head = buffer.substr(0, end);
  buffer.erase(0, end + 4);
  reply.status = std::atoi(head.substr(9, 3).c_str());
  size_t line = head.find("\r\n");
  while (line != std::string::npos) {
    const size_t next = head.find("\r\n", line + 2);
    const std::string field = head.substr(line + 2, next == std::string::npos ? std::string::npos : next - line - 2);
    const size_t colon = field.find(':');
    std::string name = field.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    reply.headers[name] = colon == std::string::npos ? "" : field.substr(colon + 2);
    line = next;
  }
  if (head_only || reply.status / 100 == 1) {
    reply.complete = true;
    return reply;
  }
  if (reply.headers.count("content-length")) {
    const size_t length = std::stoul(reply.headers["content-length"]);
    const auto deadline = Clock::now() + timeout;
    while (buffer.size() < length && Clock::now() < deadline && client.ReadSome(milliseconds(50))) {
    }
    if (buffer.size() < length) return reply;
    reply.body = buffer.substr(0, length);
    buffer.erase(0, length);
    reply.complete = true;
    return reply;
  }
  if (reply.headers["transfer-encoding"] == "chunked") {
    while (true) {
      if (!client.ReadUntil("\r\n", timeout)) return reply;
      const size_t size = std::stoul(buffer.substr(0, buffer.find("\r\n")), nullptr, 16);
      buffer.erase(0, buffer.find("\r\n") + 2);
      const auto deadline = Clock::now() + timeout;
      while (buffer.size() < size + 2 && Clock::now() < deadline && client.ReadSome(milliseconds(50))) {
      }
      if (buffer.size() < size + 2) return reply;
      reply.body += buffer.substr(0, size);
      buffer.erase(0, size + 2);
      if (size == 0) break;
    }
    reply.complete = true;
    return reply;
  }
  client.WaitClosed(timeout);  // the body ends where the connection does
  reply.body = buffer;
  buffer.clear();
  reply.complete = true;
  return reply;
}

inline std::string Get(const std::string& path, const std::string& extra = "") {
  return "GET " + path + " HTTP/1.1\r\nHost: test\r\n" + extra + "\r\n";
}

}  // namespace fpgaserve::net
