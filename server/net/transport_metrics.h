// TransportMetrics: the transport's counters, plain atomics that the application reads and exports (net does
// not depend on a metrics library; the http layer turns these into fpgaserve_http_connections_open etc.).
// Written by the I/O threads with relaxed increments; read from any thread. Owned by the Listener, valid for
// its lifetime.
#pragma once

#include <atomic>
#include <cstdint>

namespace fpgaserve::net {

struct TransportMetrics {
  std::atomic<int64_t> connections_open{0};       // gauge: accepted and not yet closed (rejected ones excluded)
  std::atomic<uint64_t> connections_total{0};     // accepted under the cap, ever
  std::atomic<uint64_t> connections_rejected{0};  // over max_connections: answered 503 and closed
  // Deadline expiries by phase (TransportOptions says what each bounds).
  std::atomic<uint64_t> deadline_expired_idle{0};
  std::atomic<uint64_t> deadline_expired_request{0};
  std::atomic<uint64_t> deadline_expired_write{0};
  std::atomic<int64_t> streams_open{0};  // gauge: Exchange::Stream answers whose last chunk is not yet written
};

}  // namespace fpgaserve::net
