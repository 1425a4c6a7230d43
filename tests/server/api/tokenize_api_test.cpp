#include "server/api/tokenize_api.h"

#include <gtest/gtest.h>

#include "http_test_util.h"

namespace fpgaserve {
namespace {

TEST(TokenizeApiTest, BothDialectsAndTheirDefaults) {
  testing::TempDir dir;
  auto tok = testing::LoadTestTokenizer(dir);
  ASSERT_NE(tok, nullptr);
  std::string param;
  auto llama = TokenizeBody(R"({"content":"the cat"})", *tok, 128, &param);
  ASSERT_TRUE(llama.ok());
  const auto plain = tok->Encode("the cat", false, false);
  EXPECT_EQ(llama.value()["tokens"].get<std::vector<int>>(), plain);  // add_special defaults to false
  auto llama_special = TokenizeBody(R"({"content":"the cat","add_special":true})", *tok, 128, &param);
  EXPECT_EQ(llama_special.value()["tokens"][0], Tokenizer::kBosId);
  auto vllm = TokenizeBody(R"({"prompt":"the cat"})", *tok, 128, &param);
  EXPECT_EQ(vllm.value()["tokens"][0], Tokenizer::kBosId);  // add_special_tokens defaults to true
  EXPECT_EQ(vllm.value()["count"], plain.size() + 1);
  EXPECT_EQ(vllm.value()["max_model_len"], 128);
  auto vllm_plain = TokenizeBody(R"({"prompt":"the cat","add_special_tokens":false})", *tok, 128, &param);
  EXPECT_EQ(vllm_plain.value()["tokens"].get<std::vector<int>>(), plain);

  EXPECT_FALSE(TokenizeBody(R"({"content":5})", *tok, 128, &param).ok());
  EXPECT_EQ(param, "content");
  EXPECT_FALSE(TokenizeBody(R"({"prompt":"x","add_special_tokens":"no"})", *tok, 128, &param).ok());
  EXPECT_EQ(param, "add_special_tokens");
  EXPECT_FALSE(TokenizeBody("{}", *tok, 128, &param).ok());
  EXPECT_FALSE(TokenizeBody("nope", *tok, 128, &param).ok());
}

TEST(TokenizeApiTest, DetokenizeRoundTripsAndRejectsBadIds) {
  testing::TempDir dir;
  auto tok = testing::LoadTestTokenizer(dir);
  ASSERT_NE(tok, nullptr);
  std::string param;
  nlohmann::json body = {{"tokens", tok->Encode("hello world", true, false)}};
  auto d = DetokenizeBody(body.dump(), *tok, &param);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d.value()["content"], "hello world");
  EXPECT_EQ(d.value()["prompt"], "hello world");
  EXPECT_FALSE(DetokenizeBody(R"({"tokens":[1,512]})", *tok, &param).ok());
  EXPECT_EQ(param, "tokens");
  EXPECT_FALSE(DetokenizeBody(R"({"tokens":"1"})", *tok, &param).ok());
  // A lone byte of a multi-byte character becomes U+FFFD, so the answer is valid UTF-8.
  auto partial = DetokenizeBody(R"({"tokens":[)" + std::to_string(tok->ByteToken(0xE2)) + "]}", *tok, &param);
  ASSERT_TRUE(partial.ok());
  EXPECT_EQ(partial.value()["content"], "\xEF\xBF\xBD");
}

}  // namespace
}  // namespace fpgaserve
