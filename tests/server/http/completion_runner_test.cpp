#include "server/http/completion_runner.h"

#include <gtest/gtest.h>

#include <thread>

#include "fake_backend.h"
#include "http_test_util.h"

namespace fpgaserve {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

class CompletionRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tokenizer_ = testing::LoadTestTokenizer(dir_);
    ASSERT_NE(tokenizer_, nullptr);
  }
  std::unique_ptr<CompletionRunner> Make(ApiKind kind, const std::string& body) {
    std::string param;
    auto r = ParseOpenAiRequest(kind, body, RequestLimits{8}, &param);
    EXPECT_TRUE(r.ok()) << r.status().message();
    auto p = PrepareRequest(r.value(), *tokenizer_, 128, PrepareOptions{}, "id", &param);
    EXPECT_TRUE(p.ok()) << p.status().message();
    return std::make_unique<CompletionRunner>(ResponseMeta{kind, "id", 1, "m"}, r.value(), p.value(), tokenizer_);
  }
  // Streams the runner's whole response onto *sse; StreamTo's result (true when [DONE] was written).
  static bool StreamAll(CompletionRunner& runner, std::string* sse, milliseconds keepalive = milliseconds(5000)) {
    return runner.StreamTo([sse](std::string_view d) { *sse += d; return true; }, keepalive, nullptr);
  }
  // Streams into a vector of SSE events (the text between blank lines).
  static std::vector<std::string> Events(const std::string& sse) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start < sse.size()) {
      size_t end = sse.find("\n\n", start);
      if (end == std::string::npos) break;
      out.push_back(sse.substr(start, end - start));
      start = end + 2;
    }
    return out;
  }

  testing::TempDir dir_;
  std::shared_ptr<const Tokenizer> tokenizer_;
};

TEST_F(CompletionRunnerTest, CollectBuildsOneResponseForEveryChoice) {
  testing::FakeBackend backend({});
  auto runner = Make(ApiKind::kCompletion, R"({"prompt":"a","n":2,"echo":true})");
  ASSERT_TRUE(runner->Submit(backend).ok());
  auto body = runner->Collect(nullptr);
  ASSERT_TRUE(body.ok()) << body.status().message();
  const json& j = body.value();
  ASSERT_EQ(j["choices"].size(), 2u);
  EXPECT_EQ(j["choices"][1]["index"], 1);
  EXPECT_EQ(j["choices"][0]["text"], "aHello!");  // echo prepends the prompt
  EXPECT_EQ(j["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(j["usage"]["completion_tokens"], 6);
}

TEST_F(CompletionRunnerTest, ChatStreamHasRoleDeltasFinishUsageAndDone) {
  testing::FakeBackend backend({});
  auto runner = Make(ApiKind::kChat, R"({"messages":[{"role":"user","content":"hi"}],"stream":true,
                                        "stream_options":{"include_usage":true}})");
  ASSERT_TRUE(runner->Submit(backend).ok());
  std::string sse;
  ASSERT_TRUE(StreamAll(*runner, &sse));
  const auto events = Events(sse);
  ASSERT_GE(events.size(), 6u);
  const json first = json::parse(events[0].substr(6));
  EXPECT_EQ(first["choices"][0]["delta"], json({{"role", "assistant"}, {"content", ""}}));
  EXPECT_TRUE(first["usage"].is_null());
  std::string text;
  for (size_t i = 1; i < events.size() - 3; ++i) {
    text += json::parse(events[i].substr(6))["choices"][0]["delta"]["content"].get<std::string>();
  }
  EXPECT_EQ(text, "Hello!");
  const json finish = json::parse(events[events.size() - 3].substr(6));
  EXPECT_EQ(finish["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(finish["choices"][0]["delta"], json::object());
  const json usage = json::parse(events[events.size() - 2].substr(6));
  EXPECT_EQ(usage["choices"], json::array());
  EXPECT_EQ(usage["usage"]["completion_tokens"], 3);
  EXPECT_EQ(events.back(), "data: [DONE]");
}

TEST_F(CompletionRunnerTest, StreamInterleavesChoicesEachWithItsIndex) {
  testing::FakeBackend backend({});
  auto runner = Make(ApiKind::kCompletion, R"({"prompt":"a","n":3,"stream":true})");
  ASSERT_TRUE(runner->Submit(backend).ok());
  std::string sse;
  ASSERT_TRUE(StreamAll(*runner, &sse));
  std::string texts[3];
  int finishes = 0;
  for (const std::string& e : Events(sse)) {
    if (e == "data: [DONE]") continue;
    const json c = json::parse(e.substr(6))["choices"][0];
    texts[c["index"].get<int>()] += c["text"].get<std::string>();
    finishes += c["finish_reason"].is_null() ? 0 : 1;
  }
  for (const std::string& t : texts) EXPECT_EQ(t, "Hello!");
  EXPECT_EQ(finishes, 3);
}

TEST_F(CompletionRunnerTest, ErrorAfterStreamStartIsAnEventBeforeDone) {
  testing::FakeScript script;
  script.fail_after_first = true;
  testing::FakeBackend backend(script);
  auto runner = Make(ApiKind::kCompletion, R"({"prompt":"a","stream":true})");
  ASSERT_TRUE(runner->Submit(backend).ok());
  std::string sse;
  StreamAll(*runner, &sse);
  const auto events = Events(sse);
  ASSERT_GE(events.size(), 2u);
  const json err = json::parse(events[events.size() - 2].substr(6));
  EXPECT_EQ(err["error"]["code"], "device_failure");
  EXPECT_EQ(events.back(), "data: [DONE]");
  EXPECT_EQ(runner->error().code(), StatusCode::kDeviceFailure);
}

TEST_F(CompletionRunnerTest, ClientGoneCancelsEverySequence) {
  testing::FakeScript script;
  script.pieces = std::vector<std::string>(50, "x");
  script.delay = milliseconds(5);
  testing::FakeBackend backend(script);
  auto runner = Make(ApiKind::kCompletion, R"({"prompt":"a","n":2,"stream":true})");
  ASSERT_TRUE(runner->Submit(backend).ok());
  int writes = 0;
  EXPECT_FALSE(runner->StreamTo([&](std::string_view) { return ++writes < 3; }, milliseconds(5000), nullptr));
  EXPECT_EQ(backend.cancelled(), 2);
  for (int i = 0; i < 500 && backend.finished() < 2; ++i) std::this_thread::sleep_for(milliseconds(5));
  EXPECT_EQ(backend.finished(), 2);
}

TEST_F(CompletionRunnerTest, KeepAliveCommentsWhileNothingArrives) {
  testing::FakeScript script;
  script.first_delay = milliseconds(300);
  testing::FakeBackend backend(script);
  auto runner = Make(ApiKind::kCompletion, R"({"prompt":"a","stream":true})");
  ASSERT_TRUE(runner->Submit(backend).ok());
  std::string sse;
  ASSERT_TRUE(StreamAll(*runner, &sse, milliseconds(50)));
  EXPECT_EQ(sse.rfind(": keep-alive\n\n", 0), 0u);
}

TEST_F(CompletionRunnerTest, QueueFullOnALaterChoiceCancelsTheEarlierOnes) {
  testing::FakeScript script;
  script.accept = 1;
  script.delay = milliseconds(20);
  testing::FakeBackend backend(script);
  auto runner = Make(ApiKind::kCompletion, R"({"prompt":"a","n":2})");
  const Status st = runner->Submit(backend);
  EXPECT_EQ(st.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(backend.cancelled(), 1);
}

TEST_F(CompletionRunnerTest, StreamedLegacyLogprobs) {
  testing::FakeBackend backend({});
  auto runner = Make(ApiKind::kCompletion, R"({"prompt":"a","stream":true,"logprobs":2})");
  ASSERT_TRUE(runner->Submit(backend).ok());
  std::string sse;
  ASSERT_TRUE(StreamAll(*runner, &sse));
  const json first = json::parse(Events(sse)[0].substr(6));
  const json& lp = first["choices"][0]["logprobs"];
  ASSERT_EQ(lp["tokens"].size(), 1u);
  EXPECT_EQ(lp["token_logprobs"][0], -0.25);
  EXPECT_EQ(lp["text_offset"][0], 0);
  EXPECT_EQ(lp["top_logprobs"][0].size(), 2u);
}

TEST_F(CompletionRunnerTest, StopFlagCancelsACollect) {
  testing::FakeScript script;
  script.pieces = std::vector<std::string>(400, "x");
  script.delay = milliseconds(5);
  testing::FakeBackend backend(script);
  auto runner = Make(ApiKind::kCompletion, R"({"prompt":"a"})");
  ASSERT_TRUE(runner->Submit(backend).ok());
  std::atomic<bool> stop{true};
  auto body = runner->Collect(&stop);
  ASSERT_FALSE(body.ok());
  EXPECT_EQ(body.status().code(), StatusCode::kCancelled);
}

}  // namespace
}  // namespace fpgaserve
