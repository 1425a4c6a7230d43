// HttpMetrics: the HTTP layer's own Prometheus series, in the registry it shares with the engine.
//
//   fpgaserve_http_requests_total{model,endpoint,status}   counter  every answered request
//   fpgaserve_errors_total{model,type}                       counter  error answers by OpenAI error type
// `endpoint` is the route ("/v1/completions", ...) or "other" for unknown paths, so that a scanner cannot
// grow the label set without bound.
//
// Threading: thread-safe (prometheus-cpp families lock internally). The registry must outlive this object.
#pragma once

#include <string>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

namespace fpgaserve {

class HttpMetrics {
 public:
  HttpMetrics(prometheus::Registry& registry, std::string model);

  void CountRequest(const std::string& endpoint, int status);
  void CountError(const std::string& type);

 private:
  const std::string model_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Counter>& errors_;
};

}  // namespace fpgaserve
