#include "server/api/api_error.h"

#include <gtest/gtest.h>

namespace fpgaserve {
namespace {

TEST(ApiErrorTest, StatusMapsToHttpTypeAndCode) {
  struct Case {
    Status status;
    int http;
    const char* type;
    const char* code;
  };
  const Case cases[] = {
      {Status::InvalidArgument("x"), 400, "invalid_request_error", ""},
      {Status::OutOfRange("x"), 400, "invalid_request_error", "context_length_exceeded"},
      {Status::NotFound("x"), 404, "invalid_request_error", "not_found"},
      {Status::ResourceExhausted("x"), 429, "requests", "rate_limit_exceeded"},
      {Status::Unavailable("x"), 503, "server_error", "service_unavailable"},
      {Status::Cancelled("x"), 503, "server_error", "cancelled"},
      {Status::DeviceFailure("x"), 503, "server_error", "device_failure"},
      {Status::DeadlineExceeded("x"), 504, "server_error", "timeout"},
      {Status::Internal("x"), 500, "server_error", "internal_error"},
  };
  for (const Case& c : cases) {
    const ApiError e = ErrorFromStatus(c.status, "temperature");
    EXPECT_EQ(e.http_status, c.http) << c.status.ToString();
    EXPECT_EQ(e.type, c.type) << c.status.ToString();
    EXPECT_EQ(e.code, c.code) << c.status.ToString();
    EXPECT_EQ(e.param, "temperature");
  }
  EXPECT_EQ(ErrorFromStatus(Status::NotFound("m"), "model", "model_not_found").code, "model_not_found");
}

TEST(ApiErrorTest, BodyHasTheOpenAiShapeWithNulls) {
  const nlohmann::json j = nlohmann::json::parse(ErrorFromStatus(Status::InvalidArgument("bad")).Body());
  ASSERT_TRUE(j.contains("error"));
  EXPECT_EQ(j["error"]["message"], "bad");
  EXPECT_EQ(j["error"]["type"], "invalid_request_error");
  EXPECT_TRUE(j["error"]["param"].is_null());
  EXPECT_TRUE(j["error"]["code"].is_null());
}

TEST(ApiErrorTest, HttpOnlyErrors) {
  EXPECT_EQ(InvalidApiKeyError().http_status, 401);
  EXPECT_EQ(InvalidApiKeyError().code, "invalid_api_key");
  EXPECT_EQ(InvalidApiKeyError().type, "invalid_request_error");
  EXPECT_EQ(MethodNotAllowedError("GET", "/v1/completions").http_status, 405);
  EXPECT_EQ(RouteNotFoundError("GET", "/nope").http_status, 404);
  const ApiError big = BodyTooLargeError(1024);
  EXPECT_EQ(big.http_status, 413);
  EXPECT_NE(big.message.find("1024"), std::string::npos);
}

}  // namespace
}  // namespace fpgaserve
