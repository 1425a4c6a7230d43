#include "server/api/api_error.h"

namespace fpgaserve {

nlohmann::json ApiError::ToJson() const {
  nlohmann::json e = {{"message", message}, {"type", type}, {"param", nullptr}, {"code", nullptr}};
  if (!param.empty()) e["param"] = param;
  if (!code.empty()) e["code"] = code;
  return {{"error", e}};
}

std::string ApiError::Body() const { return ToJson().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }

ApiError ErrorFromStatus(const Status& status, const std::string& param, const std::string& code) {
  ApiError e;
  e.message = status.message();
  e.param = param;
  switch (status.code()) {
    case StatusCode::kInvalidArgument: e = {400, status.message(), "invalid_request_error", param, ""}; break;
    case StatusCode::kOutOfRange:
      e = {400, status.message(), "invalid_request_error", param, "context_length_exceeded"};
      break;
    case StatusCode::kNotFound: e = {404, status.message(), "invalid_request_error", param, "not_found"}; break;
    case StatusCode::kResourceExhausted: e = {429, status.message(), "requests", param, "rate_limit_exceeded"}; break;
    case StatusCode::kUnavailable: e = {503, status.message(), "server_error", param, "service_unavailable"}; break;
    case StatusCode::kCancelled: e = {503, status.message(), "server_error", param, "cancelled"}; break;
    case StatusCode::kDeviceFailure: e = {503, status.message(), "server_error", param, "device_failure"}; break;
    case StatusCode::kDeadlineExceeded: e = {504, status.message(), "server_error", param, "timeout"}; break;
    case StatusCode::kOk:
    case StatusCode::kInternal: e = {500, status.message(), "server_error", param, "internal_error"}; break;
  }
  if (!code.empty()) e.code = code;
  return e;
}

ApiError InvalidApiKeyError() {
  return {401, "Incorrect or missing API key: send the header 'Authorization: Bearer <key>'.", "invalid_request_error",
          "", "invalid_api_key"};
}

ApiError MethodNotAllowedError(const std::string& method, const std::string& path) {
  return {405, "Method " + method + " is not allowed on " + path + ".", "invalid_request_error", "",
          "method_not_allowed"};
}

ApiError RouteNotFoundError(const std::string& method, const std::string& path) {
  return {404, "Unknown route: " + method + " " + path + ".", "invalid_request_error", "", "not_found"};
}

ApiError BodyTooLargeError(size_t limit_bytes) {
  return {413, "The request body is larger than the limit of " + std::to_string(limit_bytes) + " bytes.",
          "invalid_request_error", "", "request_too_large"};
}

}  // namespace fpgaserve
