// A small OpenAI streaming server for the load generator's tests, run in-process on 127.0.0.1.
//
// Written on Asio rather than cpp-httplib: httplib serves each connection on a pool thread, so a thousand
// concurrent streams would need a thousand threads; here they are a thousand sockets on one thread.
// For every POST it streams max_tokens content chunks (one SSE event per HTTP chunk), then a usage chunk
// and [DONE]; it counts what it served so tests can compare the client's figures with the truth.
// GET /metrics is apart: it is not a request in those counts, and answers as FakeServerOptions says.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

namespace fpgaserve::testing {

struct FakeServerOptions {
  int chunk_delay_ms = 0;      // pause between content chunks
  int reject_every = 0;        // k > 0: every k-th request (k, 2k, ...) gets 429 Too Many Requests
  bool send_usage = true;      // the final usage chunk
  int text_prompt_tokens = 5;  // prompt_tokens reported for a text prompt (a token-id prompt reports its length)
  // n > 0: each stream pauses after its first chunk until n streams are open at once (or 20 s pass),
  // which proves the client held n streams open concurrently.
  int hold_until_open = 0;
  // GET /metrics. false: 404, as a server other than fpgaserve. true: a Prometheus page whose power gauges
  // change with every scrape: the k-th (k = 0, 1, ...) reports "host" at 50 + k W and, unless
  // metrics_host_only, the cards "fake0" at 10 + k W and "fake1" at 20 + k W.
  bool serve_metrics = false;
  bool metrics_host_only = false;
};

class FakeOpenAiServer {
 public:
  explicit FakeOpenAiServer(FakeServerOptions options = {});
  ~FakeOpenAiServer();  // Kill()s if still running
  FakeOpenAiServer(const FakeOpenAiServer&) = delete;
  FakeOpenAiServer& operator=(const FakeOpenAiServer&) = delete;

  int port() const { return port_; }
  // Closes the listener and every open connection mid-stream, as a crashed server would; then joins.
  void Kill();

  // Totals, readable at any time.
  int requests() const { return requests_; }
  int rejected() const { return rejected_; }
  int streams_completed() const { return streams_completed_; }
  // The count goes up when the server's last write of a stream completes, which can be after the client has
  // read [DONE] and returned: a test that compares it with what the client saw waits for it (up to 10 s).
  int streams_completed_when(int expected) const {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (streams_completed_ < expected && std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return streams_completed_;
  }
  long tokens_served() const { return tokens_served_; }  // completion tokens of completed streams
  long prompt_tokens_served() const { return prompt_tokens_served_; }
  int max_open_streams() const { return max_open_streams_; }
  int metrics_scrapes() const { return metrics_scrapes_; }  // GET /metrics answered, 404s included

  // Below: state shared with the connections in the .cpp (public so they can reach it, not for tests).
  struct Impl;
  const FakeServerOptions options_;
  std::atomic<int> requests_{0}, rejected_{0}, streams_completed_{0}, open_streams_{0}, max_open_streams_{0},
      metrics_scrapes_{0};
  std::atomic<long> tokens_served_{0}, prompt_tokens_served_{0};

 private:
  std::unique_ptr<Impl> impl_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace fpgaserve::testing
