#include "server/http/http_metrics.h"

namespace fpgaserve {

HttpMetrics::HttpMetrics(prometheus::Registry& registry, std::string model)
    : model_(std::move(model)),
      requests_(prometheus::BuildCounter()
                    .Name("fpgaserve_http_requests_total")
                    .Help("HTTP requests answered, by endpoint and status code")
                    .Register(registry)),
      errors_(prometheus::BuildCounter()
                  .Name("fpgaserve_errors_total")
                  .Help("Error answers, by OpenAI error type")
                  .Register(registry)),
      connections_open_(prometheus::BuildGauge()
                            .Name("fpgaserve_http_connections_open")
                            .Help("HTTP connections open now")
                            .Register(registry)
                            .Add({})),
      streams_open_(prometheus::BuildGauge()
                        .Name("fpgaserve_http_streams_open")
                        .Help("Streamed answers being written now")
                        .Register(registry)
                        .Add({})),
      connections_total_(prometheus::BuildCounter()
                             .Name("fpgaserve_http_connections_total")
                             .Help("HTTP connections accepted")
                             .Register(registry)
                             .Add({})),
      rejected_cap_(prometheus::BuildCounter()
                        .Name("fpgaserve_http_connections_rejected_total")
                        .Help("Connections refused with 503, by reason (cap: max_connections were open)")
                        .Register(registry)
                        .Add({{"reason", "cap"}})),
      expired_(prometheus::BuildCounter()
                   .Name("fpgaserve_http_deadline_expired_total")
                   .Help("Connections closed by a deadline, by phase (idle; request: its headers and body; write: "
                         "a reader that stopped reading)")
                   .Register(registry)),
      expired_idle_(expired_.Add({{"phase", "idle"}})),
      expired_request_(expired_.Add({{"phase", "request"}})),
      expired_write_(expired_.Add({{"phase", "write"}})) {}

void HttpMetrics::Export(const net::TransportMetrics& t) {
  connections_open_.Set(static_cast<double>(t.connections_open.load()));
  streams_open_.Set(static_cast<double>(t.streams_open.load()));
  MutexLock lock(&export_mu_);
  const uint64_t now[5] = {t.connections_total.load(), t.connections_rejected.load(), t.deadline_expired_idle.load(),
                           t.deadline_expired_request.load(), t.deadline_expired_write.load()};
  prometheus::Counter* counters[5] = {&connections_total_, &rejected_cap_, &expired_idle_, &expired_request_,
                                      &expired_write_};
  for (int i = 0; i < 5; ++i) {
    if (now[i] > exported_[i]) counters[i]->Increment(static_cast<double>(now[i] - exported_[i]));
    exported_[i] = now[i];
  }
}

void HttpMetrics::CountRequest(const std::string& endpoint, int status) {
  requests_.Add({{"model", model_}, {"endpoint", endpoint}, {"status", std::to_string(status)}}).Increment();
}

void HttpMetrics::CountError(const std::string& type) { errors_.Add({{"model", model_}, {"type", type}}).Increment(); }

}  // namespace fpgaserve
