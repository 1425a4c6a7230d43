#include "server/soak/attack_clients.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <deque>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>

namespace fpgaserve::testing {

using Clock = std::chrono::steady_clock;

// The loop's own state: connections by slot, a queue of slowloris sends in time order, the epoll set.
class AttackClients::Loop {
 public:
  explicit Loop(AttackClients& owner) : owner_(owner), plan_(owner.plan_), epoll_(epoll_create1(EPOLL_CLOEXEC)) {}
  ~Loop() {
    for (Conn& c : conns_) CloseFd(c);
    if (epoll_ >= 0) close(epoll_);
  }

  void Run() {
    const Clock::time_point start = Clock::now();
    // Slowloris sends are spread over the first interval so they do not all arrive in the same millisecond.
    for (int i = 0; i < plan_.slowloris; ++i) {
      const auto offset = plan_.header_interval * i / std::max(1, plan_.slowloris);
      Open(Kind::kSlowloris, "", start + offset);
    }
    for (int i = 0; i < plan_.stop_reading; ++i) Open(Kind::kStopReading, plan_.stop_reading_request, start);
    for (int i = 0; i < plan_.disconnect_mid_prefill; ++i) Open(Kind::kPrefill, plan_.prefill_request, start);
    std::vector<epoll_event> events(1024);
    while (!owner_.stop_.load(std::memory_order_relaxed)) {
      const int n = epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), 20);
      for (int i = 0; i < n; ++i) OnEvent(events[i].data.u32, events[i].events);
      SendDueLines(Clock::now());
    }
  }

 private:
  enum class Kind { kSlowloris, kStopReading, kPrefill };
  enum class State { kConnecting, kWriting, kReadingHead, kIdle, kWaitingToReconnect, kDone };
  struct Conn {
    Kind kind = Kind::kSlowloris;
    State state = State::kDone;
    int fd = -1;
    std::string out;  // bytes still to write (the request, or a header line)
    size_t written = 0;
    std::string head;  // a stop-reading client's response head so far
    int lines = 0;     // slowloris header lines sent on this connection
    uint32_t id = 0;
  };
  struct Due {
    Clock::time_point at;
    uint32_t id;
  };

  // Starts a connection of `kind` in a new slot; a slowloris one sends its first line at `first_line`.
  void Open(Kind kind, std::string request, Clock::time_point first_line) {
    const auto id = static_cast<uint32_t>(conns_.size());
    conns_.push_back(Conn{});
    conns_.back().kind = kind;
    conns_.back().id = id;
    conns_.back().out = std::move(request);
    Connect(conns_.back());
    if (kind == Kind::kSlowloris) due_.push_back({first_line, id});
  }

  void Connect(Conn& c) {
    c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) return Failed(c);
    if (c.kind == Kind::kStopReading) {
      // Before connect, so the window the client advertises is small from the start.
      setsockopt(c.fd, SOL_SOCKET, SO_RCVBUF, &plan_.receive_buffer_bytes, sizeof plan_.receive_buffer_bytes);
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(plan_.port));
    inet_pton(AF_INET, plan_.host.c_str(), &addr.sin_addr);
    if (connect(c.fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 && errno != EINPROGRESS) {
      return Failed(c);
    }
    c.state = State::kConnecting;
    c.written = 0;
    c.lines = 0;
    Watch(c, EPOLLOUT, EPOLL_CTL_ADD);
  }

  void Watch(const Conn& c, uint32_t events, int op) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u32 = c.id;
    epoll_ctl(epoll_, op, c.fd, &ev);
  }

  void OnEvent(uint32_t id, uint32_t events) {
    Conn& c = conns_[id];
    if (c.fd < 0) return;
    if (c.state == State::kConnecting) {
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0 || (events & EPOLLERR) != 0) return Failed(c);
      if (c.kind == Kind::kSlowloris) {
        owner_.Count([](AttackCounts& n) {
          n.slowloris_open++;
          n.slowloris_connects++;
        });
        c.out = "GET /health HTTP/1.1\r\nHost: " + plan_.host + "\r\n";
        c.state = State::kWriting;
        Watch(c, EPOLLIN | EPOLLRDHUP, EPOLL_CTL_MOD);  // to see the server close it
        return Write(c);
      }
      c.state = State::kWriting;
      return Write(c);
    }
    if (c.kind == Kind::kSlowloris) {
      if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) return ServerClosedSlowloris(c);
      return;
    }
    if (c.state == State::kIdle && (events & (EPOLLHUP | EPOLLERR)) != 0) {
      // A stop-reading client the server gave up on (a write deadline): epoll reports these even with no
      // events asked for, so the socket is closed here rather than reported again on every wait.
      owner_.Count([](AttackCounts& n) { n.stop_reading_closed_after_head++; });
      return CloseFd(c);
    }
    if (c.state == State::kWriting && (events & EPOLLOUT) != 0) return Write(c);
    if (c.state == State::kReadingHead && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0) return ReadHead(c);
    if ((events & (EPOLLHUP | EPOLLERR)) != 0 && c.state == State::kWriting) {
      // The server closed while the request was still being written.
      if (c.kind == Kind::kPrefill) return FinishPrefill(c);
      owner_.Count([](AttackCounts& n) { n.stop_reading_closed_early++; });
      return CloseFd(c);
    }
  }

  // Writes what is left of c.out; then the next step of the connection's kind.
  void Write(Conn& c) {
    while (c.written < c.out.size()) {
      const ssize_t n = send(c.fd, c.out.data() + c.written, c.out.size() - c.written, MSG_NOSIGNAL);
      if (n > 0) {
        c.written += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (c.kind != Kind::kSlowloris) Watch(c, EPOLLOUT, EPOLL_CTL_MOD);
        return;  // a slowloris line left half-written goes on at the next due time
      }
      if (c.kind == Kind::kSlowloris) return ServerClosedSlowloris(c);
      if (c.kind == Kind::kPrefill) return FinishPrefill(c);
      owner_.Count([](AttackCounts& a) { a.stop_reading_closed_early++; });
      return CloseFd(c);
    }
    c.out.clear();
    c.written = 0;
    switch (c.kind) {
      case Kind::kSlowloris: c.state = State::kIdle; return;
      case Kind::kPrefill: return FinishPrefill(c);
      case Kind::kStopReading:
        c.state = State::kReadingHead;
        Watch(c, EPOLLIN, EPOLL_CTL_MOD);
        return;
    }
  }

  // Reads until the blank line that ends the response head, then stops reading for good.
  void ReadHead(Conn& c) {
    char buf[4096];
    for (;;) {
      const ssize_t n = recv(c.fd, buf, sizeof buf, 0);
      if (n > 0) {
        c.head.append(buf, static_cast<size_t>(n));
        const size_t end = c.head.find("\r\n\r\n");
        if (end == std::string::npos) continue;
        // "HTTP/1.1 200 OK": the code follows the first space.
        const size_t space = c.head.find(' ');
        const int status = space == std::string::npos ? 0 : std::atoi(c.head.c_str() + space + 1);
        owner_.Count([status](AttackCounts& a) {
          a.stop_reading_heads++;
          a.stop_reading_status[status]++;
        });
        c.state = State::kIdle;
        c.head.clear();
        Watch(c, 0, EPOLL_CTL_MOD);  // from here on nothing is read: the server's writes stall
        return;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      owner_.Count([](AttackCounts& a) { a.stop_reading_closed_early++; });
      return CloseFd(c);
    }
  }

  void FinishPrefill(Conn& c) {
    if (c.id % 2 == 1) {
      const linger reset{1, 0};  // close() sends RST instead of FIN
      setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    }
    CloseFd(c);
    owner_.Count([](AttackCounts& n) { n.prefill_sent_and_closed++; });
  }

  void ServerClosedSlowloris(Conn& c) {
    owner_.Count([](AttackCounts& n) {
      n.slowloris_open--;
      n.slowloris_closed_by_server++;
    });
    WaitToReconnect(c);
  }

  // A connection that could not be made; a slowloris one is tried again after an interval, others are done.
  void Failed(Conn& c) {
    owner_.Count([](AttackCounts& n) { n.connect_errors++; });
    if (c.kind == Kind::kSlowloris) return WaitToReconnect(c);
    if (c.kind == Kind::kPrefill) owner_.Count([](AttackCounts& n) { n.prefill_sent_and_closed++; });
    if (c.kind == Kind::kStopReading) owner_.Count([](AttackCounts& n) { n.stop_reading_closed_early++; });
    CloseFd(c);
  }

  void WaitToReconnect(Conn& c) {
    CloseFd(c);
    c.state = State::kWaitingToReconnect;  // its entry in due_ reconnects it
  }

  // Slowloris connections whose time has come: one more header line, or a reconnection.
  void SendDueLines(Clock::time_point now) {
    while (!due_.empty() && due_.front().at <= now) {
      const uint32_t id = due_.front().id;
      due_.pop_front();
      Conn& c = conns_[id];
      if (c.state == State::kWaitingToReconnect) {
        Connect(c);
      } else if (c.state == State::kIdle || (c.state == State::kWriting && !c.out.empty())) {
        if (c.out.empty()) c.out = "X-Slow-" + std::to_string(c.lines) + ": " + std::string(8, 'x') + "\r\n";
        c.lines++;
        c.state = State::kWriting;
        owner_.Count([](AttackCounts& n) { n.slowloris_lines_sent++; });
        Write(c);
      }
      due_.push_back({now + plan_.header_interval, id});  // the interval is constant: due_ stays in order
    }
  }

  void CloseFd(Conn& c) {
    if (c.fd < 0) return;
    close(c.fd);  // also removes it from the epoll set
    c.fd = -1;
    c.state = State::kDone;
  }

  AttackClients& owner_;
  const AttackPlan& plan_;
  const int epoll_;
  std::deque<Conn> conns_;  // a deque: references stay valid as connections are added
  std::deque<Due> due_;     // slowloris sends and reconnections, earliest first
};

AttackClients::AttackClients(AttackPlan plan) : plan_(std::move(plan)), loop_(std::make_unique<Loop>(*this)) {
  thread_ = std::thread([this] { loop_->Run(); });
}

AttackClients::~AttackClients() { Stop(); }

void AttackClients::Stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
  loop_.reset();  // closes every socket
}

void AttackClients::Count(const std::function<void(AttackCounts&)>& update) {
  MutexLock lock(&mu_);
  update(counts_);
  changed_.notify_all();
}

AttackCounts AttackClients::counts() const {
  MutexLock lock(&mu_);
  return counts_;
}

bool AttackClients::WaitEstablished(std::chrono::milliseconds timeout) const {
  MutexLock lock(&mu_);
  return changed_.wait_for(lock.native(), timeout, [this] {
    mu_.AssertHeld();
    return counts_.slowloris_open >= plan_.slowloris &&
           counts_.stop_reading_heads + counts_.stop_reading_closed_early >= plan_.stop_reading &&
           counts_.prefill_sent_and_closed >= plan_.disconnect_mid_prefill;
  });
}

}  // namespace fpgaserve::testing
