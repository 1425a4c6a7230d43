// HttpMetrics: the HTTP layer's own Prometheus series, in the registry it shares with the engine.
//
//   fpgaserve_http_requests_total{model,endpoint,status}   counter  every answered request
//   fpgaserve_errors_total{model,type}                       counter  error answers by OpenAI error type
// and the transport's (net/transport_metrics.h), copied from its counters at each scrape:
//   fpgaserve_http_connections_open                          gauge    connections open now
//   fpgaserve_http_streams_open                              gauge    streamed answers being written now
//   fpgaserve_http_connections_total                         counter  connections accepted
//   fpgaserve_http_connections_rejected_total{reason}        counter  refused with 503 (reason="cap")
//   fpgaserve_http_deadline_expired_total{phase}             counter  closed by a deadline: idle (keep-alive
//                                                                      or before a request), request (its
//                                                                      headers and body), write (a reader
//                                                                      that stopped reading)
// `endpoint` is the route ("/v1/completions", ...) or "other" for unknown paths, so that a scanner cannot
// grow the label set without bound.
//
// Threading: thread-safe (prometheus-cpp families lock internally). The registry must outlive this object.
#pragma once

#include <cstdint>
#include <string>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "base/mutex.h"
#include "server/net/transport_metrics.h"

namespace fpgaserve {

class HttpMetrics {
 public:
  HttpMetrics(prometheus::Registry& registry, std::string model);

  void CountRequest(const std::string& endpoint, int status);
  void CountError(const std::string& type);
  // Brings the transport's series up to `transport`'s counters (before a scrape).
  void Export(const net::TransportMetrics& transport) EXCLUDES(export_mu_);

 private:
  const std::string model_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Counter>& errors_;
  prometheus::Gauge& connections_open_;
  prometheus::Gauge& streams_open_;
  prometheus::Counter& connections_total_;
  prometheus::Counter& rejected_cap_;
  prometheus::Family<prometheus::Counter>& expired_;
  prometheus::Counter& expired_idle_;
  prometheus::Counter& expired_request_;
  prometheus::Counter& expired_write_;
  // What the counters above were last brought to: a prometheus counter only moves up by a delta.
  Mutex export_mu_;
  uint64_t exported_[5] GUARDED_BY(export_mu_) = {0, 0, 0, 0, 0};
};

}  // namespace fpgaserve
