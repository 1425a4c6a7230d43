// ApiError: an error as an OpenAI client sees it, and the one mapping from Status to HTTP.
//
// Body shape, always: {"error": {"message": ..., "type": ..., "param": ... | null, "code": ... | null}}
//
//   StatusCode            HTTP  type                    code (default)
//   kInvalidArgument      400   invalid_request_error   null
//   kOutOfRange           400   invalid_request_error   context_length_exceeded
//   kNotFound             404   invalid_request_error   not_found (model lookups pass model_not_found)
//   kResourceExhausted    429   requests                rate_limit_exceeded  (+ Retry-After)
//   kUnavailable          503   server_error            service_unavailable
//   kCancelled            503   server_error            cancelled   (only seen when the server cancels)
//   kDeviceFailure        503   server_error            device_failure
//   kDeadlineExceeded     504   server_error            timeout
//   kInternal, others     500   server_error            internal_error
// Errors that have no Status (authentication, HTTP method, body size) are made by the helpers below.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace fpgaserve {

struct ApiError {
  int http_status = 500;
  std::string message;
  std::string type;
  std::string param;  // "" -> null
  std::string code;   // "" -> null

  nlohmann::json ToJson() const;
  std::string Body() const;  // ToJson() serialised
};

// The one Status -> HTTP mapping (table above). REQUIRES: !status.ok(). `code`, when not empty, replaces
// the default code (e.g. "model_not_found").
ApiError ErrorFromStatus(const Status& status, const std::string& param = "", const std::string& code = "");

ApiError InvalidApiKeyError();                                                       // 401
ApiError MethodNotAllowedError(const std::string& method, const std::string& path);  // 405
ApiError RouteNotFoundError(const std::string& method, const std::string& path);     // 404
ApiError BodyTooLargeError(size_t limit_bytes);                                      // 413

}  // namespace fpgaserve
