// CompletionRunner against a ManualBackend (the test pushes every event) on a FakeClock: response shapes,
// the order of streamed chunks, keep-alives exactly when due, and waits that end only on an event, the
// keep-alive time or a stop. One test keeps FakeBackend's threads, for producers racing the consumer.
// The non-blocking core (PullSse, PollCollect, SetWake) is driven directly at chosen times: the same bytes and
// JSON as the blocking calls, max_bytes respected, keep-alives and wake-up times, and the wake function.
#include "server/api/completion_runner.h"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "fake_backend.h"
#include "http_test_util.h"
#include "manual_backend.h"

namespace fpgaserve {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using testing::ErrorEvent;
using testing::FinishedEvent;
using testing::ManualBackend;
using testing::TokenEvent;

// A FakeClock that also records the deadline of every wait begun on it: a consumer that polls would begin
// waits with deadlines short of the keep-alive.
class RecordingClock final : public Clock {
 public:
  TimePoint Now() override { return fake.Now(); }
  bool WaitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv, TimePoint deadline,
                 const std::function<bool()>& done) override {
    {
      std::lock_guard<std::mutex> l(mu_);
      deadlines_.push_back(deadline);
    }
    return fake.WaitUntil(lock, cv, deadline, done);
  }
  void SleepFor(Duration d) override { fake.SleepFor(d); }
  std::vector<TimePoint> deadlines() {
    std::lock_guard<std::mutex> l(mu_);
    return deadlines_;
  }

  FakeClock fake;

 private:
  std::mutex mu_;
  std::vector<TimePoint> deadlines_;  // guarded by mu_
};

// What a streaming runner wrote, each piece with the clock's time of writing; the test thread waits on it.
class WriteLog {
 public:
  explicit WriteLog(Clock* clock) : clock_(clock) {}
  std::function<bool(std::string_view)> Writer() {
    return [this](std::string_view data) {
      std::lock_guard<std::mutex> lock(mu_);
      entries_.push_back({clock_->Now(), std::string(data)});
      cv_.notify_all();
      return true;
    };
  }
  // Waits (a safety bound of real time, not a test condition) until `n` pieces were written; returns them.
  std::vector<std::pair<Clock::TimePoint, std::string>> WaitFor(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(60), [&] { return entries_.size() >= n; });
    return entries_;
  }

 private:
  Clock* const clock_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::pair<Clock::TimePoint, std::string>> entries_;  // guarded by mu_
};

class CompletionRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tokenizer_ = testing::LoadTestTokenizer(dir_);
    ASSERT_NE(tokenizer_, nullptr);
  }
  std::unique_ptr<CompletionRunner> Make(ApiKind kind, const std::string& body, Clock* clock = nullptr) {
    std::string param;
    auto r = ParseOpenAiRequest(kind, body, RequestLimits{8}, &param);
    EXPECT_TRUE(r.ok()) << r.status().message();
    auto p = PrepareRequest(r.value(), *tokenizer_, 128, PrepareOptions{}, "id", &param);
    EXPECT_TRUE(p.ok()) << p.status().message();
    return std::make_unique<CompletionRunner>(ResponseMeta{kind, "id", 1, "m"}, r.value(), p.value(), tokenizer_,
                                              clock != nullptr ? clock : &clock_);
  }
  // Pushes "Hel", "lo", "!" and a kLength finish into stream k.
  static void PushHello(ManualBackend& backend, size_t k) {
    backend.stream(k)->Push(TokenEvent("Hel", 300));
    backend.stream(k)->Push(TokenEvent("lo", 301));
    backend.stream(k)->Push(TokenEvent("!", 302));
    backend.stream(k)->Push(FinishedEvent(3));
  }
  // Streams the runner's whole response onto *sse; StreamTo's result (true when [DONE] was written).
  static bool StreamAll(CompletionRunner& runner, std::string* sse, milliseconds keepalive = milliseconds(5000)) {
    return runner.StreamTo(
        [sse](std::string_view d) {
          *sse += d;
          return true;
        },
        keepalive, {});
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
  FakeClock clock_;  // never advanced unless a test says so: no keep-alive is ever due
};

TEST_F(CompletionRunnerTest, CollectBuildsOneResponseForEveryChoice) {
  ManualBackend backend;
  auto runner = Make(ApiKind::kCompletion, R"({"prompt":"a","n":2,"echo":true})");
  ASSERT_TRUE(runner->Submit(backend).ok());
  PushHello(backend, 1);  // the choices finish in any order
  PushHello(backend, 0);
  auto body = runner->Collect({});
  ASSERT_TRUE(body.ok()) << body.status().message();
  const json& j = body.value();
  ASSERT_EQ(j["choices"].size(), 2u);
  EXPECT_EQ(j["choices"][1]["index"], 1);
  EXPECT_EQ(j["choices"][0]["text"], "aHello!");  // echo prepends the prompt
  EXPECT_EQ(j["choices"][1]["text"], "aHello!");
  EXPECT_EQ(j["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(j["usage"]["completion_tokens"], 6);
}

TEST_F(CompletionRunnerTest, CollectReturnsTheFirstErrorAndCancelsTheOtherChoices) {
  ManualBackend backend;
  auto runner = Make(ApiKind::kCompletion, R"({"prompt":"a","n":3})");
  ASSERT_TRUE(runner->Submit(backend).ok());
  PushHello(backend, 0);
  backend.stream(2)->Push(TokenEvent("x", 300));
  backend.stream(1)->Push(ErrorEvent(Status::DeviceFailure("card sim0 failed")));
  auto body = runner->Collect({});
  ASSERT_FALSE(body.ok());
  EXPECT_EQ(body.status().code(), StatusCode::kDeviceFailure);
  EXPECT_FALSE(backend.stream(0)->cancelled());  // it had ended: nothing to cancel
  EXPECT_FALSE(backend.stream(1)->cancelled());
  EXPECT_TRUE(backend.stream(2)->cancelled());
}

TEST_F(CompletionRunnerTest, ChatStreamHasRoleDeltasFinishUsageAndDone) {
  ManualBackend backend;
  auto runner = Make(ApiKind::kChat, R"({"messages":[{"role":"user","content":"hi"}],"stream":true,
                                        "stream_options":{"include_usage":true}})");
  ASSERT_TRUE(runner->Submit(backend).ok());
  PushHello(backend, 0);
  std::string sse;
  ASSERT_TRUE(StreamAll(*runner, &sse));
  const auto events = Events(sse);
  ASSERT_EQ(events.size(), 7u);  // role, 3 tokens, finish, usage, [DONE]
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

TEST_F(CompletionRunnerTest, StreamInterleavesChoicesInArrivalOrderEachWithItsIndex) {
  ManualBackend backend;
  auto runner = Make(ApiKind::kCompletion, R"({"prompt":"a","n":3,"stream":true})");
  ASSERT_TRUE(runner->Submit(backend).ok());
  const size_t order[] = {2, 0, 2, 1, 0, 1};
  for (size_t i = 0; i < 6; ++i) backend.stream(order[i])->Push(TokenEvent(std::string(1, 'a' + i), 300));
  for (size_t k : {1, 2, 0}) backend.stream(k)->Push(FinishedEvent(2));
  std::string sse;
  ASSERT_TRUE(StreamAll(*runner, &sse));
  const auto events = Events(sse);
  ASSERT_EQ(events.size(), 10u);
  for (size_t i = 0; i < 6; ++i) {
    const json c = json::parse(events[i].substr(6))["choices"][0];
    EXPECT_EQ(c["index"], order[i]);
    EXPECT_EQ(c["text"], std::string(1, 'a' + i));
  }
  const size_t finish_order[] = {1, 2, 0};
  for (size_t i = 6; i < 9; ++i) {
    const json c = json::parse(events[i].substr(6))["choices"][0];
    EXPECT_EQ(c["index"], finish_order[i - 6]);
    EXPECT_EQ(c["finish_reason"], "length");
  }
  EXPECT_EQ(events.back(), "data: [DONE]");
}

// Producers on threads of their own (FakeBackend), pushing before and after the runner attaches their streams.
TEST_F(CompletionRunnerTest, ChoicesFedFromConcurrentProducersAllArrive) {
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

TEST_F(CompletionRunnerTest, EventsPushedBeforeSubmitReturnedAreStreamedFirst) {
  ManualBackend backend(1 << 30, {TokenEvent("Hel", 300)});
  auto runner = Make(ApiKind::kCompletion, R"({"prompt":"a","stream":true})");
  ASSERT_TRUE(runner->Submit(backend).ok());
  backend.stream(0)->Push(TokenEvent("lo", 301));
  backend.stream(0)->Push(FinishedEvent(2));
  std::string sse;
  ASSERT_TRUE(StreamAll(*runner, &sse));
  const auto events = Events(sse);
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(json::parse(events[0].substr(6))["choices"][0]["text"], "Hel");
  EXPECT_EQ(json::parse(events[1].substr(6))["choices"][0]["text"], "lo");
}

TEST_F(CompletionRunnerTest, ErrorAfterStreamStartIsAnEventBeforeDone) {
  ManualBackend backend;
  auto runner = Make(ApiKind::kCompletion, R"({"prompt":"a","stream":true})");
  ASSERT_TRUE(runner->Submit(backend).ok());
  backend.stream(0)->Push(TokenEvent("Hel", 300));
  backend.stream(0)->Push(ErrorEvent(Status::DeviceFailure("card sim0 failed"), 1));
  std::string sse;
  StreamAll(*runner, &sse);
  const auto events = Events(sse);
  ASSERT_EQ(events.size(), 3u);
  const json err = json::parse(events[1].substr(6));
  EXPECT_EQ(err["error"]["code"], "device_failure");
  EXPECT_EQ(events.back(), "data: [DONE]");
  EXPECT_EQ(runner->error().code(), StatusCode::kDeviceFailure);
}

TEST_F(CompletionRunnerTest, ClientGoneCancelsEverySequence) {
  ManualBackend backend;
  auto runner = Make(ApiKind::kCompletion, R"({"prompt":"a","n":2,"stream":true})");
  ASSERT_TRUE(runner->Submit(backend).ok());
  for (size_t k = 0; k < 2; ++k) {
    for (int i = 0; i < 50; ++i) backend.stream(k)->Push(TokenEvent("x", 300));
  }
  int writes = 0;
  EXPECT_FALSE(runner->StreamTo([&](std::string_view) { return ++writes < 3; }, milliseconds(5000), {}));
  EXPECT_EQ(writes, 3);  // StreamTo returned at the failed write
  EXPECT_EQ(backend.cancelled(), 2);
}

// Keep-alives go out exactly when `keepalive` of the clock's time passed since the last write, and a chunk
// restarts that time.
TEST_F(CompletionRunnerTest, KeepAliveCommentsExactlyWhenDue) {
  ManualBackend backend;
  auto runner = Make(ApiKind::kCompletion, R"({"prompt":"a","stream":true})");
  ASSERT_TRUE(runner->Submit(backend).ok());
  WriteLog log(&clock_);
  const Clock::TimePoint start = clock_.Now();
  bool done = false;
  std::thread consumer([&] { done = runner->StreamTo(log.Writer(), milliseconds(50), {}); });
  while (clock_.Waiters() < 1) std::this_thread::yield();
  clock_.Advance(milliseconds(50));
  auto entries = log.WaitFor(1);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].second, ": keep-alive\n\n");
  EXPECT_EQ(entries[0].first - start, milliseconds(50));

  clock_.Advance(milliseconds(30));
  backend.stream(0)->Push(TokenEvent("x", 300));  // at 80 ms: a chunk, and the next keep-alive is due at 130
  entries = log.WaitFor(2);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[1].first - start, milliseconds(80));
  clock_.Advance(milliseconds(50));
  entries = log.WaitFor(3);
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[2].second, ": keep-alive\n\n");
  EXPECT_EQ(entries[2].first - start, milliseconds(130));

  backend.stream(0)->Push(FinishedEvent(1));
  consumer.join();
  EXPECT_TRUE(done);
  EXPECT_EQ(log.WaitFor(5).size(), 5u);  // + the finish chunk and [DONE]
}

// A stream with nothing pushed waits once, until the keep-alive is due, and wakes for a push or the keep-alive
// only: no round robin over the choices, no fixed slices.
TEST_F(CompletionRunnerTest, AStreamWithNothingPushedWakesOnlyOnAPushOrTheKeepAlive) {
  RecordingClock clock;
  ManualBackend backend;
  auto runner = Make(ApiKind::kCompletion, R"({"prompt":"a","n":3,"stream":true})", &clock);
  ASSERT_TRUE(runner->Submit(backend).ok());
  WriteLog log(&clock);
  const Clock::TimePoint start = clock.Now();
  std::thread consumer([&] { runner->StreamTo(log.Writer(), milliseconds(1000), {}); });
  while (clock.fake.Waiters() < 1) std::this_thread::yield();
  clock.fake.Advance(milliseconds(999));  // not yet due
  backend.stream(2)->Push(TokenEvent("x", 300));
  ASSERT_EQ(log.WaitFor(1).size(), 1u);
  for (size_t k = 0; k < 3; ++k) backend.stream(k)->Push(FinishedEvent(k == 2 ? 1 : 0));
  consumer.join();
  EXPECT_EQ(log.WaitFor(5).size(), 5u);  // the token, three finishes, [DONE]
  // One wait per event (the token, three finishes), each until the keep-alive: 1 s after the last write.
  std::vector<int64_t> deadlines_ms;
  for (Clock::TimePoint d : clock.deadlines()) {
    deadlines_ms.push_back(std::chrono::duration_cast<milliseconds>(d - start).count());
  }
  EXPECT_EQ(deadlines_ms, (std::vector<int64_t>{1000, 1999, 1999, 1999}));
}

TEST_F(CompletionRunnerTest, CollectWaitsOncePerEventWithoutDeadline) {
  RecordingClock clock;
  ManualBackend backend;
  auto runner = Make(ApiKind::kCompletion, R"({"prompt":"a","n":2})", &clock);
  ASSERT_TRUE(runner->Submit(backend).ok());
  PushHello(backend, 0);
  PushHello(backend, 1);
  ASSERT_TRUE(runner->Collect({}).ok());
  EXPECT_EQ(clock.deadlines(), std::vector<Clock::TimePoint>(8, Clock::TimePoint::max()));
}

TEST_F(CompletionRunnerTest, QueueFullOnALaterChoiceCancelsTheEarlierOnes) {
  ManualBackend backend(1);
  auto runner = Make(ApiKind::kCompletion, R"({"prompt":"a","n":2})");
  const Status st = runner->Submit(backend);
  EXPECT_EQ(st.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(backend.cancelled(), 1);
}

TEST_F(CompletionRunnerTest, StreamedLegacyLogprobs) {
  ManualBackend backend;
  auto runner = Make(ApiKind::kCompletion, R"({"prompt":"a","stream":true,"logprobs":2})");
  ASSERT_TRUE(runner->Submit(backend).ok());
  PushHello(backend, 0);
  std::string sse;
  ASSERT_TRUE(StreamAll(*runner, &sse));
  const json first = json::parse(Events(sse)[0].substr(6));
  const json& lp = first["choices"][0]["logprobs"];
  ASSERT_EQ(lp["tokens"].size(), 1u);
  EXPECT_EQ(lp["token_logprobs"][0], -0.25);
  EXPECT_EQ(lp["text_offset"][0], 0);
  EXPECT_EQ(lp["top_logprobs"][0].size(), 2u);
}

// A stop requested while Collect waits cancels the sequences at once (on the stopping thread), without the
// clock moving; their final events end the wait.
TEST_F(CompletionRunnerTest, AStopDuringACollectCancelsAtOnce) {
  ManualBackend backend;
  auto runner = Make(ApiKind::kCompletion, R"({"prompt":"a","n":2})");
  ASSERT_TRUE(runner->Submit(backend).ok());
  std::stop_source stop;
  Result<nlohmann::json> body = Status::Internal("not run");
  std::thread consumer([&] { body = runner->Collect(stop.get_token()); });
  while (clock_.Waiters() < 1) std::this_thread::yield();
  stop.request_stop();
  EXPECT_EQ(backend.cancelled(), 2);
  backend.stream(1)->Push(ErrorEvent(Status::Cancelled("cancelled")));
  consumer.join();
  ASSERT_FALSE(body.ok());
  EXPECT_EQ(body.status().code(), StatusCode::kCancelled);
}

TEST_F(CompletionRunnerTest, AStopDuringAStreamSendsTheCancellationThenDone) {
  ManualBackend backend;
  auto runner = Make(ApiKind::kCompletion, R"({"prompt":"a","stream":true})");
  ASSERT_TRUE(runner->Submit(backend).ok());
  std::stop_source stop;
  WriteLog log(&clock_);
  std::thread consumer([&] { runner->StreamTo(log.Writer(), milliseconds(5000), stop.get_token()); });
  backend.stream(0)->Push(TokenEvent("x", 300));
  ASSERT_EQ(log.WaitFor(1).size(), 1u);
  stop.request_stop();
  EXPECT_TRUE(backend.stream(0)->cancelled());
  backend.stream(0)->Push(ErrorEvent(Status::Cancelled("cancelled"), 1));
  consumer.join();
  const auto entries = log.WaitFor(3);
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(json::parse(entries[1].second.substr(6))["error"]["code"], "cancelled");
  EXPECT_EQ(entries[2].second, "data: [DONE]\n\n");
}

// A stop requested before Collect begins cancels at once too (the engine then ends the sequence).
TEST_F(CompletionRunnerTest, AStopRequestedBeforeCollectCancels) {
  testing::FakeScript script;
  script.pieces = std::vector<std::string>(400, "x");
  testing::FakeBackend backend(script);
  auto runner = Make(ApiKind::kCompletion, R"({"prompt":"a"})");
  ASSERT_TRUE(runner->Submit(backend).ok());
  std::stop_source stop;
  stop.request_stop();
  auto body = runner->Collect(stop.get_token());
  ASSERT_FALSE(body.ok());
  EXPECT_EQ(body.status().code(), StatusCode::kCancelled);
}

// ---- The non-blocking core ----

using PullState = CompletionRunner::PullState;
constexpr size_t kRoom = 1 << 20;  // max_bytes that never stops a pull

TEST_F(CompletionRunnerTest, PullWritesKeepAliveExactlyWhenDue) {
  ManualBackend backend;
  auto runner = Make(ApiKind::kCompletion, R"({"prompt":"a","stream":true})");
  ASSERT_TRUE(runner->Submit(backend).ok());
  const Clock::TimePoint t0 = clock_.Now();
  const milliseconds keepalive(50);
  std::string out;
  EXPECT_EQ(runner->PullSse(t0, kRoom, &out, keepalive).state, PullState::kWait);
  EXPECT_EQ(runner->PullSse(t0 + milliseconds(49), kRoom, &out, keepalive).state, PullState::kWait);
  EXPECT_EQ(out, "");  // not yet due
  EXPECT_EQ(runner->PullSse(t0 + milliseconds(50), kRoom, &out, keepalive).state, PullState::kWait);
  EXPECT_EQ(out, ": keep-alive\n\n");
  out.clear();
  runner->PullSse(t0 + milliseconds(99), kRoom, &out, keepalive);
  EXPECT_EQ(out, "");  // the keep-alive restarted the time: next due at 100

  backend.stream(0)->Push(TokenEvent("x", 300));
  runner->PullSse(t0 + milliseconds(120), kRoom, &out, keepalive);  // past 100, but a chunk is written instead
  EXPECT_EQ(json::parse(out.substr(6))["choices"][0]["text"], "x");
  out.clear();
  runner->PullSse(t0 + milliseconds(169), kRoom, &out, keepalive);
  EXPECT_EQ(out, "");
  runner->PullSse(t0 + milliseconds(170), kRoom, &out, keepalive);
  EXPECT_EQ(out, ": keep-alive\n\n");
  out.clear();
  runner->PullSse(t0 + milliseconds(300), kRoom, &out, keepalive);  // a late pull: one keep-alive, not several
  EXPECT_EQ(out, ": keep-alive\n\n");
}

TEST_F(CompletionRunnerTest, PullReturnsWaitWithNextKeepAliveTime) {
  ManualBackend backend;
  auto runner = Make(ApiKind::kCompletion, R"({"prompt":"a","stream":true})");
  ASSERT_TRUE(runner->Submit(backend).ok());
  const Clock::TimePoint t0 = clock_.Now();
  const milliseconds keepalive(1000);
  std::string out;
  auto pulled = runner->PullSse(t0, kRoom, &out, keepalive);
  EXPECT_EQ(pulled.state, PullState::kWait);
  EXPECT_EQ(pulled.wake_at, t0 + keepalive);  // the first pull starts the time

  backend.stream(0)->Push(TokenEvent("x", 300));
  pulled = runner->PullSse(t0 + milliseconds(10), kRoom, &out, keepalive);
  EXPECT_EQ(pulled.state, PullState::kWait);
  EXPECT_EQ(pulled.wake_at, t0 + milliseconds(1010));  // from the chunk just written
  EXPECT_EQ(Events(out).size(), 1u);
  pulled = runner->PullSse(t0 + milliseconds(20), kRoom, &out, keepalive);  // nothing new
  EXPECT_EQ(pulled.state, PullState::kWait);
  EXPECT_EQ(pulled.wake_at, t0 + milliseconds(1010));
  EXPECT_EQ(Events(out).size(), 1u);

  backend.stream(0)->Push(FinishedEvent(1));
  EXPECT_EQ(runner->PullSse(t0 + milliseconds(30), kRoom, &out, keepalive).state, PullState::kEnd);
  const auto events = Events(out);
  ASSERT_EQ(events.size(), 3u);  // the token, the finish, [DONE]
  EXPECT_EQ(events.back(), "data: [DONE]");
  const std::string all = out;
  EXPECT_EQ(runner->PullSse(t0 + milliseconds(5000), kRoom, &out, keepalive).state, PullState::kEnd);
  EXPECT_EQ(out, all);  // after the end: nothing more, not even a keep-alive
}

// Whole SSE events only, stopping once `out` holds max_bytes; every pull together writes exactly StreamTo's
// bytes.
TEST_F(CompletionRunnerTest, PullStopsAtMaxBytes) {
  const std::string body = R"({"messages":[{"role":"user","content":"hi"}],"stream":true,"n":2,
                               "stream_options":{"include_usage":true}})";
  auto push_all = [](ManualBackend& backend) {
    for (size_t k = 0; k < 2; ++k) PushHello(backend, k);
  };
  ManualBackend reference_backend;
  auto reference = Make(ApiKind::kChat, body);
  ASSERT_TRUE(reference->Submit(reference_backend).ok());
  push_all(reference_backend);
  std::string expected;
  ASSERT_TRUE(StreamAll(*reference, &expected));
  const auto expected_events = Events(expected);
  ASSERT_EQ(expected_events.size(), 12u);  // 2 roles, 6 tokens, 2 finishes, usage, [DONE]

  ManualBackend backend;
  auto runner = Make(ApiKind::kChat, body);
  ASSERT_TRUE(runner->Submit(backend).ok());
  push_all(backend);
  const Clock::TimePoint now = clock_.Now();
  std::string got;
  std::string out;
  EXPECT_EQ(runner->PullSse(now, 1, &out, milliseconds(5000)).state, PullState::kMore);
  EXPECT_EQ(out, expected_events[0] + "\n\n");  // one event: max_bytes is reached inside it
  got += out;

  out = "prefix";  // already at max_bytes: nothing is added
  EXPECT_EQ(runner->PullSse(now, 6, &out, milliseconds(5000)).state, PullState::kMore);
  EXPECT_EQ(out, "prefix");

  out.clear();  // room for one event and a byte: the second event is finished, and no third begun
  const size_t max_bytes = expected_events[1].size() + 2 + 1;
  EXPECT_EQ(runner->PullSse(now, max_bytes, &out, milliseconds(5000)).state, PullState::kMore);
  EXPECT_EQ(out, expected_events[1] + "\n\n" + expected_events[2] + "\n\n");
  got += out;

  for (int pulls = 0; pulls < 100; ++pulls) {  // the rest, 200 bytes at a time
    out.clear();
    const auto pulled = runner->PullSse(now, 200, &out, milliseconds(5000));
    EXPECT_LT(out.rfind("data: "), 200u);  // the last event began below max_bytes: none after the one crossing it
    got += out;
    if (pulled.state == PullState::kEnd) break;
    ASSERT_EQ(pulled.state, PullState::kMore);  // everything is ready: never a wait
  }
  EXPECT_EQ(got, expected);
}

TEST_F(CompletionRunnerTest, WakeIsCalledWhenAnEventArrives) {
  ManualBackend backend;
  auto runner = Make(ApiKind::kCompletion, R"({"prompt":"a","n":2,"stream":true})");
  ASSERT_TRUE(runner->Submit(backend).ok());
  std::atomic<int> wakes{0};
  runner->SetWake([&wakes] { wakes++; });
  EXPECT_EQ(wakes.load(), 0);
  const Clock::TimePoint now = clock_.Now();
  std::string out;
  EXPECT_EQ(runner->PullSse(now, kRoom, &out, milliseconds(5000)).state, PullState::kWait);

  // Pushed on the engine's side (another thread): once woken, a pull finds the event.
  std::thread engine([&] { backend.stream(1)->Push(TokenEvent("x", 300)); });
  while (wakes.load() < 1) std::this_thread::yield();
  runner->PullSse(now, kRoom, &out, milliseconds(5000));
  ASSERT_EQ(Events(out).size(), 1u);
  EXPECT_EQ(json::parse(out.substr(6))["choices"][0]["index"], 1);
  engine.join();

  backend.stream(0)->Push(TokenEvent("y", 301));
  backend.stream(0)->Push(FinishedEvent(1));
  EXPECT_EQ(wakes.load(), 3);  // one per event

  // The runner goes (the connection with it) while the engine still holds choice 1's stream: its
  // cancellation's final event wakes nobody.
  std::shared_ptr<Stream> still_running = backend.stream(1);
  runner.reset();
  EXPECT_TRUE(still_running->cancelled());
  still_running->Push(ErrorEvent(Status::Cancelled("cancelled"), 1));
  EXPECT_EQ(wakes.load(), 3);
}

TEST_F(CompletionRunnerTest, PollCollectNulloptUntilEveryChoiceEnds) {
  const std::string body = R"({"prompt":"a","n":2,"logprobs":1})";
  ManualBackend reference_backend;
  auto reference = Make(ApiKind::kCompletion, body);
  ASSERT_TRUE(reference->Submit(reference_backend).ok());
  PushHello(reference_backend, 1);
  PushHello(reference_backend, 0);
  const auto expected = reference->Collect({});
  ASSERT_TRUE(expected.ok());

  ManualBackend backend;
  auto runner = Make(ApiKind::kCompletion, body);
  ASSERT_TRUE(runner->Submit(backend).ok());
  EXPECT_FALSE(runner->PollCollect().has_value());
  PushHello(backend, 1);
  EXPECT_FALSE(runner->PollCollect().has_value());  // choice 0 is still running
  backend.stream(0)->Push(TokenEvent("Hel", 300));
  backend.stream(0)->Push(TokenEvent("lo", 301));
  backend.stream(0)->Push(TokenEvent("!", 302));
  EXPECT_FALSE(runner->PollCollect().has_value());
  backend.stream(0)->Push(FinishedEvent(3));
  const auto got = runner->PollCollect();
  ASSERT_TRUE(got.has_value());
  ASSERT_TRUE(got->ok()) << got->status().message();
  EXPECT_EQ(got->value(), expected.value());  // Collect's JSON
  EXPECT_EQ(got->value()["choices"][0]["text"], "Hello!");
  EXPECT_EQ(got->value()["choices"][0]["logprobs"]["tokens"].size(), 3u);
  EXPECT_EQ(clock_.Waiters(), 0);  // no call waited
}

TEST_F(CompletionRunnerTest, PollCollectReturnsTheFirstErrorAtOnceAndCancelsTheOthers) {
  ManualBackend backend;
  auto runner = Make(ApiKind::kCompletion, R"({"prompt":"a","n":2})");
  ASSERT_TRUE(runner->Submit(backend).ok());
  backend.stream(0)->Push(TokenEvent("x", 300));
  EXPECT_FALSE(runner->PollCollect().has_value());
  backend.stream(1)->Push(ErrorEvent(Status::DeviceFailure("card sim0 failed")));
  const auto got = runner->PollCollect();
  ASSERT_TRUE(got.has_value());
  ASSERT_FALSE(got->ok());
  EXPECT_EQ(got->status().code(), StatusCode::kDeviceFailure);
  EXPECT_TRUE(backend.stream(0)->cancelled());  // still running: cancelled without waiting for it
  EXPECT_EQ(runner->error().code(), StatusCode::kDeviceFailure);
}

// The transport's closed() stop token cancels through CancelAll while the stream is being pulled: each
// choice's cancellation error arrives as an event (and wakes the reader); the first is streamed, then, once
// every choice has ended, [DONE].
TEST_F(CompletionRunnerTest, CancelWhilePullingStreamsTheErrorThenDone) {
  ManualBackend backend;
  auto runner = Make(ApiKind::kCompletion, R"({"prompt":"a","n":2,"stream":true})");
  ASSERT_TRUE(runner->Submit(backend).ok());
  std::atomic<int> wakes{0};
  runner->SetWake([&wakes] { wakes++; });
  std::stop_source closed;
  std::stop_callback on_closed(closed.get_token(), [&] { runner->CancelAll(); });
  const Clock::TimePoint now = clock_.Now();
  std::string out;
  backend.stream(0)->Push(TokenEvent("x", 300));
  runner->PullSse(now, kRoom, &out, milliseconds(5000));
  ASSERT_EQ(Events(out).size(), 1u);

  closed.request_stop();
  EXPECT_EQ(backend.cancelled(), 2);
  out.clear();
  EXPECT_EQ(runner->PullSse(now, kRoom, &out, milliseconds(5000)).state, PullState::kWait);
  EXPECT_EQ(out, "");  // nothing to say until the engine answers

  backend.stream(1)->Push(ErrorEvent(Status::Cancelled("cancelled")));  // the engine's answer, per choice
  EXPECT_EQ(wakes.load(), 2);
  EXPECT_EQ(runner->PullSse(now, kRoom, &out, milliseconds(5000)).state, PullState::kWait);
  ASSERT_EQ(Events(out).size(), 1u);
  EXPECT_EQ(json::parse(out.substr(6))["error"]["code"], "cancelled");
  out.clear();
  backend.stream(0)->Push(ErrorEvent(Status::Cancelled("cancelled"), 1));
  EXPECT_EQ(runner->PullSse(now, kRoom, &out, milliseconds(5000)).state, PullState::kEnd);
  EXPECT_EQ(out, "data: [DONE]\n\n");  // the second error is not repeated
  EXPECT_EQ(runner->error().code(), StatusCode::kCancelled);
}

}  // namespace
}  // namespace fpgaserve
