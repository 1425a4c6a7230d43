#include "server/api/openai_response.h"

#include <gtest/gtest.h>

namespace fpgaserve {
namespace {

using nlohmann::json;

OpenAiRequest Request(ApiKind kind) {
  OpenAiRequest r;
  r.kind = kind;
  return r;
}

TEST(OpenAiResponseTest, IdsHaveTheOpenAiPrefixes) {
  EXPECT_EQ(NewResponseId(ApiKind::kCompletion).rfind("cmpl-", 0), 0u);
  EXPECT_EQ(NewResponseId(ApiKind::kChat).rfind("chatcmpl-", 0), 0u);
  EXPECT_NE(NewResponseId(ApiKind::kChat), NewResponseId(ApiKind::kChat));
}

TEST(OpenAiResponseTest, CompletionAndChatBodies) {
  ResponseMeta meta{ApiKind::kCompletion, "cmpl-1", 42, "m"};
  const json c = ResponseJson(meta, Request(ApiKind::kCompletion), {{0, "hi", FinishReason::kLength, {}}}, {3, 2});
  EXPECT_EQ(c["object"], "text_completion");
  EXPECT_EQ(c["id"], "cmpl-1");
  EXPECT_EQ(c["created"], 42);
  EXPECT_EQ(c["choices"][0]["text"], "hi");
  EXPECT_EQ(c["choices"][0]["finish_reason"], "length");
  EXPECT_TRUE(c["choices"][0]["logprobs"].is_null());
  EXPECT_EQ(c["usage"], json({{"prompt_tokens", 3}, {"completion_tokens", 2}, {"total_tokens", 5}}));

  meta.kind = ApiKind::kChat;
  const json chat = ResponseJson(meta, Request(ApiKind::kChat), {{0, "yo", FinishReason::kStop, {}}}, {1, 1});
  EXPECT_EQ(chat["object"], "chat.completion");
  EXPECT_EQ(chat["choices"][0]["message"], json({{"role", "assistant"}, {"content", "yo"}}));
  EXPECT_EQ(chat["choices"][0]["finish_reason"], "stop");
}

TEST(OpenAiResponseTest, ChunksAndUsageNullWhenIncludeUsage) {
  ResponseMeta meta{ApiKind::kChat, "chatcmpl-1", 1, "m"};
  OpenAiRequest r = Request(ApiKind::kChat);
  const json role = ChunkJson(meta, r, 0, "", "assistant", std::nullopt, nullptr);
  EXPECT_EQ(role["object"], "chat.completion.chunk");
  EXPECT_EQ(role["choices"][0]["delta"], json({{"role", "assistant"}, {"content", ""}}));
  EXPECT_TRUE(role["choices"][0]["finish_reason"].is_null());
  EXPECT_FALSE(role.contains("usage"));
  r.include_usage = true;
  const json last = ChunkJson(meta, r, 2, "", "", FinishReason::kStop, nullptr);
  EXPECT_EQ(last["choices"][0]["delta"], json::object());
  EXPECT_EQ(last["choices"][0]["index"], 2);
  EXPECT_EQ(last["choices"][0]["finish_reason"], "stop");
  EXPECT_TRUE(last.contains("usage") && last["usage"].is_null());
  const json usage = UsageChunkJson(meta, {4, 5});
  EXPECT_EQ(usage["choices"], json::array());
  EXPECT_EQ(usage["usage"]["total_tokens"], 9);

  meta.kind = ApiKind::kCompletion;
  const json text = ChunkJson(meta, Request(ApiKind::kCompletion), 0, "ab", "", std::nullopt, nullptr);
  EXPECT_EQ(text["object"], "text_completion");
  EXPECT_EQ(text["choices"][0]["text"], "ab");
}

TEST(OpenAiResponseTest, SseFraming) {
  EXPECT_EQ(SseData(json{{"a", 1}}), "data: {\"a\":1}\n\n");
  EXPECT_STREQ(kSseDone, "data: [DONE]\n\n");
  EXPECT_STREQ(kSseKeepAlive, ": keep-alive\n\n");
  // Invalid UTF-8 never throws: it becomes U+FFFD.
  EXPECT_EQ(DumpJson(json("\xE2")), "\"\xEF\xBF\xBD\"");
}

TEST(OpenAiResponseTest, LegacyAndChatLogprobs) {
  OpenAiRequest completion = Request(ApiKind::kCompletion);
  EXPECT_TRUE(LogprobsJson(completion, {}).is_null());
  completion.legacy_logprobs = 2;
  const std::vector<TokenReport> tokens = {{" a", -0.5f, {{" a", -0.5f}, {" b", -1.5f}}, 0},
                                           {"c", -0.1f, {{"c", -0.1f}}, 2}};
  const json legacy = LogprobsJson(completion, tokens);
  EXPECT_EQ(legacy["tokens"], json({" a", "c"}));
  EXPECT_EQ(legacy["token_logprobs"][0], -0.5f);
  EXPECT_EQ(legacy["top_logprobs"][0][" b"], -1.5f);
  EXPECT_EQ(legacy["text_offset"], json({0, 2}));

  OpenAiRequest chat = Request(ApiKind::kChat);
  chat.chat_logprobs = true;
  const json c = LogprobsJson(chat, tokens);
  EXPECT_EQ(c["content"][0]["token"], " a");
  EXPECT_EQ(c["content"][0]["bytes"], json({32, 97}));
  EXPECT_EQ(c["content"][0]["top_logprobs"][1]["token"], " b");
  EXPECT_EQ(c["content"][1]["top_logprobs"].size(), 1u);
}

}  // namespace
}  // namespace fpgaserve
