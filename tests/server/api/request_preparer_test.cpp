#include "server/api/request_preparer.h"

#include <gtest/gtest.h>

#include "base/clock.h"
#include "http_test_util.h"

namespace fpgaserve {
namespace {

class RequestPreparerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tokenizer_ = testing::LoadTestTokenizer(dir_);
    ASSERT_NE(tokenizer_, nullptr);
  }
  Result<PreparedRequest> Prepare(ApiKind kind, const std::string& body, std::string* param, int context = 64,
                                  PrepareOptions options = {}) {
    auto r = ParseOpenAiRequest(kind, body, RequestLimits{8}, param);
    if (!r.ok()) return r.status();
    return PrepareRequest(r.value(), *tokenizer_, context, options, "cmpl-x", param);
  }
  testing::TempDir dir_;
  std::shared_ptr<const Tokenizer> tokenizer_;
};

TEST_F(RequestPreparerTest, TextPromptGetsBosAndDefaultMaxTokensFitsTheContext) {
  std::string param;
  PrepareOptions options;
  options.default_max_tokens = 1000;
  auto p = Prepare(ApiKind::kCompletion, R"({"prompt":"the cat"})", &param, 64, options);
  ASSERT_TRUE(p.ok()) << p.status().message();
  ASSERT_EQ(p->sequences.size(), 1u);
  EXPECT_EQ(p->sequences[0].prompt.front(), Tokenizer::kBosId);
  EXPECT_EQ(p->max_tokens, 64 - static_cast<int>(p->sequences[0].prompt.size()));
  EXPECT_EQ(p->sequences[0].request_id, "cmpl-x");
  options.default_max_tokens = 5;
  EXPECT_EQ(Prepare(ApiKind::kCompletion, R"({"prompt":"the cat"})", &param, 64, options)->max_tokens, 5);
}

TEST_F(RequestPreparerTest, TheDeadlineCountsFromTheInjectedClock) {
  FakeClock clock;
  clock.Advance(std::chrono::hours(1));  // far from the real time: a deadline from the wall clock would show
  PrepareOptions options;
  options.request_timeout = std::chrono::milliseconds(1500);
  options.clock = &clock;
  std::string param;
  auto p = Prepare(ApiKind::kCompletion, R"({"prompt":"the cat","n":2})", &param, 64, options);
  ASSERT_TRUE(p.ok()) << p.status().message();
  for (const SequenceRequest& s : p->sequences) EXPECT_EQ(s.deadline, clock.Now() + std::chrono::milliseconds(1500));
  options.request_timeout = std::chrono::milliseconds(0);
  p = Prepare(ApiKind::kCompletion, R"({"prompt":"the cat"})", &param, 64, options);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->sequences[0].deadline, std::chrono::steady_clock::time_point::max()) << "no timeout, no deadline";
}

TEST_F(RequestPreparerTest, NChoicesPerPromptWithConsecutiveSeeds) {
  std::string param;
  auto p = Prepare(ApiKind::kCompletion, R"({"prompt":["a","b"],"n":3,"seed":100,"stop":"x","ignore_eos":true})",
                   &param);
  ASSERT_TRUE(p.ok()) << p.status().message();
  ASSERT_EQ(p->sequences.size(), 6u);
  for (int k = 0; k < 6; ++k) {
    EXPECT_EQ(*p->sequences[k].sampling.seed, 100u + k);
    EXPECT_EQ(p->sequences[k].prompt, p->prompts[k / 3].tokens);
    EXPECT_EQ(p->sequences[k].request_id, "cmpl-x/" + std::to_string(k));
    EXPECT_TRUE(p->sequences[k].ignore_eos);
    EXPECT_EQ(p->sequences[k].stop, std::vector<std::string>{"x"});
  }
  EXPECT_EQ(p->prompt_tokens, static_cast<int>(p->prompts[0].tokens.size() + p->prompts[1].tokens.size()));
}

TEST_F(RequestPreparerTest, ContextOverflowNamesBothNumbersAndTheParam) {
  std::string param;
  auto p = Prepare(ApiKind::kCompletion, R"({"prompt":"hello","max_tokens":60})", &param, 32);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(param, "max_tokens");
  EXPECT_NE(p.status().message().find("32"), std::string::npos);
  EXPECT_NE(p.status().message().find("60"), std::string::npos);

  const std::string long_text(200, 'q');
  auto too_long = Prepare(ApiKind::kChat, R"({"messages":[{"role":"user","content":")" + long_text + R"("}]})", &param,
                          32);
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(param, "messages");
  auto too_long_prompt = Prepare(ApiKind::kCompletion, R"({"prompt":")" + long_text + R"("})", &param, 32);
  ASSERT_FALSE(too_long_prompt.ok());
  EXPECT_EQ(param, "prompt");
}

TEST_F(RequestPreparerTest, MaxTokensLimitAndVocabularyChecks) {
  std::string param;
  PrepareOptions options;
  options.max_tokens_limit = 10;
  auto over = Prepare(ApiKind::kCompletion, R"({"prompt":"a","max_tokens":11})", &param, 64, options);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(param, "max_tokens");
  auto bad_token = Prepare(ApiKind::kCompletion, R"({"prompt":[1,512]})", &param);
  ASSERT_FALSE(bad_token.ok());
  EXPECT_EQ(param, "prompt");
  auto bad_bias = Prepare(ApiKind::kCompletion, R"({"prompt":"a","logit_bias":{"512":1}})", &param);
  ASSERT_FALSE(bad_bias.ok());
  EXPECT_EQ(param, "logit_bias");
  auto tokens = Prepare(ApiKind::kCompletion, R"({"prompt":[1,300,301]})", &param);
  ASSERT_TRUE(tokens.ok());
  EXPECT_EQ(tokens->sequences[0].prompt, (std::vector<int32_t>{1, 300, 301}));
}

TEST_F(RequestPreparerTest, ChatUsesTheTemplate) {
  std::string param;
  PrepareOptions options;
  options.chat_template = ChatTemplateKind::kLlama2;
  auto p = Prepare(ApiKind::kChat, R"({"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"},
      {"role":"user","content":"c"}]})",
                   &param, 128, options);
  ASSERT_TRUE(p.ok()) << p.status().message();
  const auto& t = p->sequences[0].prompt;
  EXPECT_EQ(std::count(t.begin(), t.end(), Tokenizer::kBosId), 2);
  EXPECT_EQ(std::count(t.begin(), t.end(), Tokenizer::kEosId), 1);
  auto roles = Prepare(ApiKind::kChat, R"({"messages":[{"role":"assistant","content":"a"}]})", &param);
  ASSERT_FALSE(roles.ok());
  EXPECT_EQ(param, "messages");
}

// The Llama 2 chat template as Hugging Face ships it, rendered by our Jinja interpreter, gives the very
// tokens of the built-in llama2 format; "<s>" typed in a message stays text.
TEST_F(RequestPreparerTest, ChatWithTheLlama2JinjaTemplateGivesTheBuiltInTokens) {
  auto t = LoadJinjaChatTemplateFile(testing::SourceDir() + "/tests/server/api/chat_templates/llama2.jinja",
                                     LlamaVocabChatOptions(Tokenizer::kBosId, Tokenizer::kEosId));
  ASSERT_TRUE(t.ok()) << t.status().message();
  const std::string body = R"({"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"a"},
      {"role":"assistant","content":"b"},{"role":"user","content":"c <s> </s>"}]})";
  std::string param;
  PrepareOptions builtin;
  builtin.chat_template = ChatTemplateKind::kLlama2;
  PrepareOptions jinja;
  jinja.jinja_template = t.value();
  auto want = Prepare(ApiKind::kChat, body, &param, 256, builtin);
  auto got = Prepare(ApiKind::kChat, body, &param, 256, jinja);
  ASSERT_TRUE(want.ok()) << want.status().message();
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(got->sequences[0].prompt, want->sequences[0].prompt);
  EXPECT_EQ(got->prompts[0].text, want->prompts[0].text);
  const auto& tokens = got->sequences[0].prompt;
  EXPECT_EQ(std::count(tokens.begin(), tokens.end(), Tokenizer::kBosId), 2);
  EXPECT_EQ(std::count(tokens.begin(), tokens.end(), Tokenizer::kEosId), 1);
}

TEST_F(RequestPreparerTest, AJinjaTemplateRejectingTheConversationIsA400OnMessages) {
  auto t = LoadJinjaChatTemplateFile(testing::SourceDir() + "/tests/server/api/chat_templates/mistral.jinja",
                                     LlamaVocabChatOptions(Tokenizer::kBosId, Tokenizer::kEosId));
  ASSERT_TRUE(t.ok()) << t.status().message();
  PrepareOptions options;
  options.jinja_template = t.value();
  std::string param;
  auto p = Prepare(ApiKind::kChat, R"({"messages":[{"role":"user","content":"a"},{"role":"user","content":"b"}]})",
                   &param, 128, options);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(param, "messages");
  EXPECT_NE(p.status().message().find("roles must alternate"), std::string::npos);
}

TEST_F(RequestPreparerTest, MissingSeedDrawsOneBaseSeed) {
  std::string param;
  auto p = Prepare(ApiKind::kCompletion, R"({"prompt":"a","n":2})", &param);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p->sequences[1].sampling.seed, *p->sequences[0].sampling.seed + 1);
}

}  // namespace
}  // namespace fpgaserve
