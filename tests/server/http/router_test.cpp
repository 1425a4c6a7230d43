#include "server/http/router.h"

#include <gtest/gtest.h>

namespace fpgaserve {
namespace {

TEST(RouterTest, EveryRouteByItsMethod) {
  EXPECT_EQ(FindRoute("POST", "/v1/completions").id, RouteId::kCompletions);
  EXPECT_EQ(FindRoute("POST", "/v1/chat/completions").id, RouteId::kChatCompletions);
  EXPECT_EQ(FindRoute("GET", "/v1/models").id, RouteId::kModels);
  EXPECT_EQ(FindRoute("POST", "/tokenize").id, RouteId::kTokenize);
  EXPECT_EQ(FindRoute("POST", "/detokenize").id, RouteId::kDetokenize);
  EXPECT_EQ(FindRoute("GET", "/health").id, RouteId::kHealth);
  EXPECT_EQ(FindRoute("GET", "/metrics").id, RouteId::kMetrics);
  EXPECT_STREQ(FindRoute("POST", "/v1/chat/completions").label, "/v1/chat/completions");
}

TEST(RouterTest, AModelByIdIsTheModelsRouteWithTheId) {
  const Route r = FindRoute("GET", "/v1/models/tiny-llama");
  EXPECT_EQ(r.id, RouteId::kModels);
  EXPECT_EQ(r.model_id, "tiny-llama");
  EXPECT_STREQ(r.label, "/v1/models");  // one label for every id: a scanner cannot grow the label set
  EXPECT_TRUE(FindRoute("GET", "/v1/models").model_id.empty());
  EXPECT_EQ(FindRoute("GET", "/v1/models/").id, RouteId::kNotFound);
}

TEST(RouterTest, HeadIsGet) {
  EXPECT_EQ(FindRoute("HEAD", "/health").id, RouteId::kHealth);
  EXPECT_EQ(FindRoute("HEAD", "/v1/completions").id, RouteId::kMethodNotAllowed);
}

TEST(RouterTest, AnotherMethodOnAKnownPathIs405WithAllow) {
  const Route r = FindRoute("GET", "/v1/completions");
  EXPECT_EQ(r.id, RouteId::kMethodNotAllowed);
  EXPECT_STREQ(r.allow, "POST");
  EXPECT_STREQ(r.label, "/v1/completions");
  EXPECT_STREQ(FindRoute("DELETE", "/metrics").allow, "GET");
  EXPECT_STREQ(FindRoute("PUT", "/v1/models/x").allow, "GET");
}

TEST(RouterTest, UnknownPathsAre404UnderOneLabelAndOptionsIs405Anywhere) {
  const Route r = FindRoute("GET", "/v2/anything");
  EXPECT_EQ(r.id, RouteId::kNotFound);
  EXPECT_STREQ(r.label, "other");
  EXPECT_EQ(FindRoute("GET", "/health/").id, RouteId::kNotFound);
  EXPECT_EQ(FindRoute("GET", "").id, RouteId::kNotFound);
  EXPECT_EQ(FindRoute("OPTIONS", "/nowhere").id, RouteId::kMethodNotAllowed);
  EXPECT_EQ(FindRoute("OPTIONS", "/v1/completions").id, RouteId::kMethodNotAllowed);
}

}  // namespace
}  // namespace fpgaserve
