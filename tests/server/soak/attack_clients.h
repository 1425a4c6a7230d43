// AttackClients: the hostile and broken clients of the soak test, aimed at a server on loopback. Test code,
// not product code.
//
// Three kinds, all on raw non-blocking sockets driven by one epoll loop on one thread, so five thousand of
// them cost five thousand descriptors and no threads (a thread per connection would make the test measure
// itself):
//   - slowloris: sends a request line, then one more header line every `header_interval`, never the blank line
//     that ends the headers. When the server closes one (a header deadline, a connection cap), it is opened
//     again after `header_interval`, so the pressure stays at `slowloris` connections while the attack runs.
//   - stop-reading: a small receive buffer, a complete streaming request whose answer is long, reads the
//     response head (status line and headers), then never reads again; the connection stays open until
//     Stop(). Whether the server's writes stall depends on how much it sends against its send buffer.
//   - disconnect-mid-prefill: sends a complete request with a long prompt and closes the socket as soon as the
//     last byte is written (half with FIN, half with RST via SO_LINGER 0), while the server is still reading
//     or prefilling it.
// Ordinary streaming load is not here: the soak test drives it with the load generator (server/bench).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "base/mutex.h"
#include "base/thread_annotations.h"

namespace fpgaserve::testing {

struct AttackPlan {
  std::string host = "127.0.0.1";  // a numeric IPv4 address
  int port = 0;
  int slowloris = 0;
  std::chrono::milliseconds header_interval{1000};
  int stop_reading = 0;
  std::string stop_reading_request;  // the complete HTTP request (head and body) a stop-reading client sends
  int receive_buffer_bytes = 4096;   // SO_RCVBUF of stop-reading clients, set before connect
  int disconnect_mid_prefill = 0;
  std::string prefill_request;  // the complete HTTP request a disconnecting client sends before it closes
};

// What the clients saw so far. Connection errors (refused, reset before connecting) count in connect_errors
// and a slowloris connection that fails is retried like one the server closed.
struct AttackCounts {
  int slowloris_open = 0;                  // connected, and not closed by the server, now
  int slowloris_connects = 0;              // connections completed, reconnections included
  int slowloris_closed_by_server = 0;      // an answer (408, 503), EOF or reset seen on a slowloris connection
  int slowloris_lines_sent = 0;            // header lines after the request line
  int stop_reading_heads = 0;              // stop-reading clients that got a response head
  std::map<int, int> stop_reading_status;  // status code -> clients
  int stop_reading_closed_early = 0;       // the server closed before a response head
  int stop_reading_closed_after_head = 0;  // the server reset a stalled stream (a write deadline)
  int prefill_sent_and_closed = 0;         // disconnect-mid-prefill clients done
  int connect_errors = 0;
};

class AttackClients {
 public:
  // Opens every connection of the plan and starts the loop thread; returns at once.
  explicit AttackClients(AttackPlan plan);
  // Stop().
  ~AttackClients();
  AttackClients(const AttackClients&) = delete;
  AttackClients& operator=(const AttackClients&) = delete;

  // A snapshot; any thread.
  AttackCounts counts() const EXCLUDES(mu_);
  // Waits until every slowloris connection is open and every stop-reading client got its head or was
  // closed, and every disconnecting client is done, or `timeout` passes; returns whether all were.
  bool WaitEstablished(std::chrono::milliseconds timeout) const EXCLUDES(mu_);
  // Ends the loop and closes every connection (stop-reading ones with unread data: the kernel sends RST).
  // Idempotent; any thread but the loop's.
  void Stop();

 private:
  class Loop;
  friend class Loop;
  // The loop thread records what it saw.
  void Count(const std::function<void(AttackCounts&)>& update) EXCLUDES(mu_);

  const AttackPlan plan_;
  std::atomic<bool> stop_{false};
  mutable Mutex mu_;
  mutable std::condition_variable changed_;  // counts_ changed
  AttackCounts counts_ GUARDED_BY(mu_);
  std::unique_ptr<Loop> loop_;  // used only by the loop thread until it is joined
  std::thread thread_;
};

}  // namespace fpgaserve::testing
