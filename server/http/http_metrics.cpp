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
                  .Register(registry)) {}

void HttpMetrics::CountRequest(const std::string& endpoint, int status) {
  requests_.Add({{"model", model_}, {"endpoint", endpoint}, {"status", std::to_string(status)}}).Increment();
}

void HttpMetrics::CountError(const std::string& type) { errors_.Add({{"model", model_}, {"type", type}}).Increment(); }

}  // namespace fpgaserve
