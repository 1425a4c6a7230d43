#include "server/api/openai_request.h"

#include <string>

#include <gtest/gtest.h>

namespace fpgaserve {
namespace {

Result<OpenAiRequest> Parse(ApiKind kind, const std::string& body, std::string* param) {
  return ParseOpenAiRequest(kind, body, RequestLimits{8}, param);
}

TEST(OpenAiRequestTest, CompletionDefaultsAndEveryGoodField) {
  std::string param;
  auto r = Parse(ApiKind::kCompletion, R"({"model":"m","prompt":"hi","max_tokens":5,"temperature":0,"top_p":0.5,
      "top_k":3,"min_p":0.1,"seed":7,"stop":["a","b"],"n":2,"presence_penalty":1,"frequency_penalty":-1,
      "repetition_penalty":1.2,"logit_bias":{"5":-100,"7":2.5},"logprobs":3,"stream":true,
      "stream_options":{"include_usage":true},"user":"u1","ignore_eos":true,"unknown_field":{"x":1}})",
                 &param);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->model, "m");
  ASSERT_EQ(r->prompts.size(), 1u);
  EXPECT_EQ(r->prompts[0].text, "hi");
  EXPECT_EQ(*r->max_tokens, 5);
  EXPECT_EQ(r->sampling.temperature, 0.0f);
  EXPECT_EQ(r->sampling.top_k, 3);
  EXPECT_EQ(*r->sampling.seed, 7u);
  EXPECT_EQ(r->stop, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(r->n, 2);
  EXPECT_EQ(r->sampling.logit_bias.at(5), -100.0f);
  EXPECT_EQ(r->legacy_logprobs, 3);
  EXPECT_TRUE(r->sampling.logprobs);
  EXPECT_EQ(r->sampling.top_logprobs, 3);
  EXPECT_TRUE(r->stream && r->include_usage && r->ignore_eos);
  EXPECT_EQ(r->user, "u1");

  auto d = Parse(ApiKind::kCompletion, R"({"prompt":"x","max_tokens":null,"stop":null,"seed":null})", &param);
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->max_tokens.has_value());
  EXPECT_FALSE(d->sampling.seed.has_value());
  EXPECT_EQ(d->n, 1);
  EXPECT_EQ(d->sampling.temperature, 1.0f);
  EXPECT_EQ(d->legacy_logprobs, -1);
}

TEST(OpenAiRequestTest, PromptShapes) {
  std::string param;
  auto many = Parse(ApiKind::kCompletion, R"({"prompt":["a","b"]})", &param);
  ASSERT_TRUE(many.ok());
  EXPECT_EQ(many->prompts.size(), 2u);
  auto tokens = Parse(ApiKind::kCompletion, R"({"prompt":[1,300,5]})", &param);
  ASSERT_TRUE(tokens.ok());
  ASSERT_EQ(tokens->prompts.size(), 1u);
  EXPECT_TRUE(tokens->prompts[0].is_tokens);
  EXPECT_EQ(tokens->prompts[0].tokens, (std::vector<int64_t>{1, 300, 5}));
  auto lists = Parse(ApiKind::kCompletion, R"({"prompt":[[1,2],[1]]})", &param);
  ASSERT_TRUE(lists.ok());
  EXPECT_EQ(lists->prompts.size(), 2u);
  auto maxc = Parse(ApiKind::kCompletion, R"({"prompt":"x","max_tokens":3,"max_completion_tokens":9})", &param);
  EXPECT_EQ(*maxc->max_tokens, 9);
  auto integral_float = Parse(ApiKind::kCompletion, R"({"prompt":"x","max_tokens":4.0})", &param);
  ASSERT_TRUE(integral_float.ok());
  EXPECT_EQ(*integral_float->max_tokens, 4);
  auto top_k_off = Parse(ApiKind::kCompletion, R"({"prompt":"x","top_k":-1})", &param);
  EXPECT_EQ(top_k_off->sampling.top_k, 0);
}

struct BadCase {
  ApiKind kind;
  const char* body;
  const char* param;
};

TEST(OpenAiRequestTest, EveryBadValueNamesItsParam) {
  const BadCase cases[] = {
      {ApiKind::kCompletion, R"({"prompt":"x","temperature":"hot"})", "temperature"},
      {ApiKind::kCompletion, R"({"prompt":"x","temperature":2.5})", "temperature"},
      {ApiKind::kCompletion, R"({"prompt":"x","top_p":0})", "top_p"},
      {ApiKind::kCompletion, R"({"prompt":"x","top_p":1.5})", "top_p"},
      {ApiKind::kCompletion, R"({"prompt":"x","top_k":1.5})", "top_k"},
      {ApiKind::kCompletion, R"({"prompt":"x","top_k":-2})", "top_k"},
      {ApiKind::kCompletion, R"({"prompt":"x","min_p":2})", "min_p"},
      {ApiKind::kCompletion, R"({"prompt":"x","seed":"1"})", "seed"},
      {ApiKind::kCompletion, R"({"prompt":"x","seed":1.5})", "seed"},
      {ApiKind::kCompletion, R"({"prompt":"x","presence_penalty":3})", "presence_penalty"},
      {ApiKind::kCompletion, R"({"prompt":"x","frequency_penalty":-2.5})", "frequency_penalty"},
      {ApiKind::kCompletion, R"({"prompt":"x","repetition_penalty":0})", "repetition_penalty"},
      {ApiKind::kCompletion, R"({"prompt":"x","logit_bias":{"abc":1}})", "logit_bias"},
      {ApiKind::kCompletion, R"({"prompt":"x","logit_bias":{"3":200}})", "logit_bias"},
      {ApiKind::kCompletion, R"({"prompt":"x","logit_bias":[1]})", "logit_bias"},
      {ApiKind::kCompletion, R"({"prompt":"x","max_tokens":0})", "max_tokens"},
      {ApiKind::kCompletion, R"({"prompt":"x","max_tokens":"5"})", "max_tokens"},
      {ApiKind::kCompletion, R"({"prompt":"x","max_completion_tokens":-1})", "max_completion_tokens"},
      {ApiKind::kCompletion, R"({"prompt":"x","n":0})", "n"},
      {ApiKind::kCompletion, R"({"prompt":"x","n":9})", "n"},
      {ApiKind::kCompletion, R"({"prompt":"x","stop":["a","b","c","d","e"]})", "stop"},
      {ApiKind::kCompletion, R"({"prompt":"x","stop":[1]})", "stop"},
      {ApiKind::kCompletion, R"({"prompt":"x","stop":7})", "stop"},
      {ApiKind::kCompletion, R"({"prompt":"x","logprobs":6})", "logprobs"},
      {ApiKind::kCompletion, R"({"prompt":"x","logprobs":true})", "logprobs"},
      {ApiKind::kCompletion, R"({"prompt":"x","echo":1})", "echo"},
      {ApiKind::kCompletion, R"({"prompt":"x","echo":true,"logprobs":1})", "echo"},
      {ApiKind::kCompletion, R"({"prompt":"x","stream":"yes"})", "stream"},
      {ApiKind::kCompletion, R"({"prompt":"x","stream_options":{"include_usage":1}})", "stream_options.include_usage"},
      {ApiKind::kCompletion, R"({"prompt":"x","stream_options":3})", "stream_options"},
      {ApiKind::kCompletion, R"({"prompt":"x","user":5})", "user"},
      {ApiKind::kCompletion, R"({"prompt":"x","ignore_eos":"no"})", "ignore_eos"},
      {ApiKind::kCompletion, R"({"prompt":"x","model":5})", "model"},
      {ApiKind::kCompletion, R"({"max_tokens":5})", "prompt"},
      {ApiKind::kCompletion, R"({"prompt":5})", "prompt"},
      {ApiKind::kCompletion, R"({"prompt":[]})", "prompt"},
      {ApiKind::kCompletion, R"({"prompt":[1,-3]})", "prompt"},
      {ApiKind::kCompletion, R"({"prompt":["a",{}]})", "prompt[1]"},
      {ApiKind::kCompletion, R"({"prompt":[[1],[]]})", "prompt[1]"},
      {ApiKind::kChat, R"({})", "messages"},
      {ApiKind::kChat, R"({"messages":[]})", "messages"},
      {ApiKind::kChat, R"({"messages":["hi"]})", "messages[0]"},
      {ApiKind::kChat, R"({"messages":[{"content":"hi"}]})", "messages[0].role"},
      {ApiKind::kChat, R"({"messages":[{"role":"robot","content":"hi"}]})", "messages[0].role"},
      {ApiKind::kChat, R"({"messages":[{"role":"user"}]})", "messages[0].content"},
      {ApiKind::kChat, R"({"messages":[{"role":"user","content":5}]})", "messages[0].content"},
      {ApiKind::kChat, R"({"messages":[{"role":"user","content":[{"type":"image_url"}]}]})",
       "messages[0].content[0].type"},
      {ApiKind::kChat, R"({"messages":[{"role":"user","content":[{"type":"text","text":3}]}]})",
       "messages[0].content[0].text"},
      {ApiKind::kChat, R"({"messages":[{"role":"user","content":"x"}],"logprobs":1})", "logprobs"},
      {ApiKind::kChat, R"({"messages":[{"role":"user","content":"x"}],"top_logprobs":2})", "top_logprobs"},
      {ApiKind::kChat, R"({"messages":[{"role":"user","content":"x"}],"logprobs":true,"top_logprobs":21})",
       "top_logprobs"},
  };
  for (const BadCase& c : cases) {
    std::string param;
    auto r = Parse(c.kind, c.body, &param);
    EXPECT_FALSE(r.ok()) << c.body;
    if (r.ok()) continue;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << c.body;
    EXPECT_EQ(param, c.param) << c.body << " -> " << r.status().message();
  }
}

TEST(OpenAiRequestTest, MalformedJsonIsAnInvalidArgumentWithoutParam) {
  std::string param = "stale";
  auto r = Parse(ApiKind::kCompletion, "{not json", &param);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(param, "");
  EXPECT_FALSE(Parse(ApiKind::kCompletion, "[1,2]", &param).ok());
}

TEST(OpenAiRequestTest, ChatMessagesTextPartsAndRoles) {
  std::string param;
  auto r = Parse(ApiKind::kChat, R"({"messages":[{"role":"developer","content":"be brief"},
      {"role":"user","content":[{"type":"text","text":"Hel"},{"type":"text","text":"lo"}]},
      {"role":"assistant","content":null}],"logprobs":true,"top_logprobs":4})",
                 &param);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->messages.size(), 3u);
  EXPECT_EQ(r->messages[0].role, "system");
  EXPECT_EQ(r->messages[1].content, "Hello");
  EXPECT_EQ(r->messages[2].content, "");
  EXPECT_TRUE(r->chat_logprobs);
  EXPECT_TRUE(r->sampling.logprobs);
  EXPECT_EQ(r->sampling.top_logprobs, 4);
}

}  // namespace
}  // namespace fpgaserve
