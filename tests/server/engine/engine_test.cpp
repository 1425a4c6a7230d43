// Engine: what a client of the scheduler is promised. Generation on a simulated card over the `tiny`
// random model (the same tokens as a direct token-by-token run, alone or among many; chunked prefill;
// finish reasons; stop strings; usage; two cards), and with fake cards: failures, hangs, cancellation,
// deadlines, queue limits, drain and shutdown.
#include "server/engine/engine.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "fpga/sim_card.h"
#include "fpga/weights_image.h"
#include "server/engine/engine_metrics.h"
#include "server/engine/fake_device.h"
#include "server/engine/test_tokenizer.h"
#include "server/model/random_model.h"
#include "server/model/tokenizer.h"
#include "support/byte_level_vocabulary.h"
#include "support/test_support.h"

namespace fpgaserve {
namespace {

using std::chrono::milliseconds;
using testing::FakeControl;
using testing::FakeDevice;
using testing::FakeDeviceOptions;
using testing::RecordingDevice;
using Kind = StreamEvent::Kind;
using Steady = std::chrono::steady_clock;

constexpr int kVocab = testing::kTestVocab;  // the tiny shape's vocabulary
using testing::TestTokenizer;
constexpr milliseconds kLongWait{60000};

// ---- Fixtures: a tokenizer, the tiny model, cards and engines ----

std::shared_ptr<const WeightsImage> TinyImage() {
  static const std::shared_ptr<const WeightsImage> image = [] {
    auto config = NamedShape("tiny");
    EXPECT_TRUE(config.ok());
    RandomModel model = MakeRandomModel(config.value(), 7);
    auto packed = WeightsImage::Pack(model.view);
    EXPECT_TRUE(packed.ok()) << packed.status().ToString();
    return packed.value();
  }();
  return image;
}

std::unique_ptr<Device> TinyCard(const std::string& name, int n_slots) {
  SimCardOptions o;
  o.name = name;
  o.n_slots = n_slots;
  o.threads = 1;  // the test machine is small; several cards share it
  auto card = SimCard::Create(TinyImage(), o);
  EXPECT_TRUE(card.ok()) << card.status().ToString();
  return std::move(card.value());
}

// A simulated card whose steps are recorded, and which sleeps `delay` per step so that a test thread
// can act between steps.
class SlowRecordingDevice final : public Device {
 public:
  SlowRecordingDevice(std::unique_ptr<Device> inner, std::shared_ptr<FakeControl> control, milliseconds delay)
      : inner_(std::move(inner), std::move(control)), delay_(delay) {}
  const DeviceInfo& info() const override { return inner_.info(); }
  bool Healthy() const override { return inner_.Healthy(); }
  Status Run(const Step& step, float* logits) override {
    std::this_thread::sleep_for(delay_);
    return inner_.Run(step, logits);
  }

 private:
  RecordingDevice inner_;
  milliseconds delay_;
};

std::unique_ptr<Device> Fake(std::shared_ptr<FakeControl> control, FakeDeviceOptions options = {}) {
  return std::make_unique<FakeDevice>(std::move(options), std::move(control));
}

std::unique_ptr<Engine> MakeEngine(std::vector<std::unique_ptr<Device>> cards, EngineOptions options = {},
                                   EngineMetrics* metrics = nullptr) {
  auto engine = Engine::Create(options, std::move(cards), TestTokenizer(), metrics);
  EXPECT_TRUE(engine.ok()) << engine.status().ToString();
  return std::move(engine.value());
}
std::unique_ptr<Engine> MakeEngine(std::unique_ptr<Device> card, EngineOptions options = {},
                                   EngineMetrics* metrics = nullptr) {
  std::vector<std::unique_ptr<Device>> cards;
  cards.push_back(std::move(card));
  return MakeEngine(std::move(cards), options, metrics);
}

// BOS, then n - 1 tokens chosen by salt (ids 3..511: no special token).
std::vector<int32_t> Prompt(int n, int salt) {
  std::vector<int32_t> p = {Tokenizer::kBosId};
  for (int i = 1; i < n; i++) p.push_back(3 + (salt * 7919 + i * 104729) % (kVocab - 3));
  return p;
}

SequenceRequest Request(std::vector<int32_t> prompt, int max_tokens, float temperature = 0.0f, uint64_t seed = 1) {
  SequenceRequest r;
  r.request_id = "test";
  r.prompt = std::move(prompt);
  r.max_tokens = max_tokens;
  r.sampling.temperature = temperature;
  r.sampling.seed = seed;
  return r;
}

std::shared_ptr<Stream> MustSubmit(Engine& engine, SequenceRequest request) {
  auto stream = engine.Submit(std::move(request));
  EXPECT_TRUE(stream.ok()) << stream.status().ToString();
  return stream.ok() ? stream.value() : nullptr;
}

// Everything a stream delivered.
struct Outcome {
  std::vector<StreamEvent> tokens;  // kToken events
  std::vector<int32_t> ids;
  std::string text;  // all text, the final event's included
  StreamEvent final;
  bool got_final = false;
};

// Reads until the final event or `limit`.
Outcome Collect(Stream& stream, milliseconds limit = kLongWait) {
  Outcome o;
  const auto until = Steady::now() + limit;
  StreamEvent e;
  while (Steady::now() < until) {
    if (!stream.Next(&e, milliseconds(50))) continue;
    o.text += e.text;
    if (e.kind == Kind::kToken) {
      o.ids.push_back(e.token);
      o.tokens.push_back(e);
      continue;
    }
    o.final = e;
    o.got_final = true;
    break;
  }
  return o;
}

// Reads exactly one event (a test that acts mid-stream).
StreamEvent NextEvent(Stream& stream) {
  StreamEvent e;
  EXPECT_TRUE(stream.Next(&e, kLongWait)) << "no event within a minute";
  return e;
}

// Polls `condition` until it holds or `limit` passes.
template <typename F>
bool Eventually(F condition, milliseconds limit = milliseconds(10000)) {
  const auto until = Steady::now() + limit;
  while (Steady::now() < until) {
    if (condition()) return true;
    std::this_thread::sleep_for(milliseconds(2));
  }
  return condition();
}

// Moves a FakeClock once the engine's housekeeping thread (the only thread that waits on the clock in these
// tests) is parked on it: a wait begun after the move would measure its period from the new time and sleep
// through the test.
void AdvanceWhenParked(FakeClock& clock, milliseconds d) {
  EXPECT_TRUE(Eventually([&] { return clock.Waiters() > 0; })) << "nothing waits on the clock";
  clock.Advance(d);
}

int SlotsUsed(const Engine& engine) {
  int used = 0;
  for (const CardState& c : engine.State().cards) used += c.slots_used;
  return used;
}

// The tokens a request yields when its prompt is fed one token per step to a card of its own, sampled
// with the same Sampler and Rng: what the engine must reproduce.
std::vector<int32_t> GenerateDirect(const SequenceRequest& r) {
  auto card = TinyCard("direct", 1);
  std::vector<float> logits(kVocab);
  auto run = [&](int32_t token, int pos, bool want_logits) {
    Step step;
    step.entries.push_back({token, pos, 0, want_logits ? 0 : -1});
    step.n_out_rows = want_logits ? 1 : 0;
    const Status st = card->Run(step, logits.data());
    EXPECT_TRUE(st.ok()) << st.ToString();
  };
  const int n = static_cast<int>(r.prompt.size());
  for (int pos = 0; pos < n; pos++) run(r.prompt[pos], pos, pos == n - 1);
  Sampler sampler(r.sampling, kVocab, r.prompt);
  Rng rng(*r.sampling.seed);
  std::vector<int32_t> out;
  for (int pos = n;; pos++) {
    const int32_t token = sampler.Sample(logits.data(), rng).token;
    out.push_back(token);
    if ((token == Tokenizer::kEosId && !r.ignore_eos) || static_cast<int>(out.size()) == r.max_tokens) break;
    run(token, pos, true);
  }
  return out;
}

// Ids of the single-character pieces spelling `text`.
std::vector<int32_t> Spell(const std::string& text) {
  std::vector<int32_t> ids;
  for (char c : text) ids.push_back(TestTokenizer()->PieceToId(std::string(1, c)));
  return ids;
}

// A fake card's token function: with prompt {BOS}, the k-th generated token is script[k] (then the last
// one forever).
std::function<int32_t(const StepEntry&)> Script(std::vector<int32_t> script) {
  return [script](const StepEntry& e) { return script[std::min<size_t>(e.pos, script.size() - 1)]; };
}

// ---- Generation on the simulated card ----

TEST(EngineGeneration, GreedyOutputEqualsDirectTokenByTokenRun) {
  auto engine = MakeEngine(TinyCard("sim0", 4));
  SequenceRequest r = Request(Prompt(12, 1), 30);
  r.ignore_eos = true;
  const Outcome o = Collect(*MustSubmit(*engine, r));
  ASSERT_TRUE(o.got_final);
  EXPECT_EQ(o.final.kind, Kind::kFinished);
  EXPECT_EQ(o.ids, GenerateDirect(r));
}

TEST(EngineGeneration, SeededSamplingEqualsDirectRun) {
  auto engine = MakeEngine(TinyCard("sim0", 4));
  SequenceRequest r = Request(Prompt(5, 2), 25, 0.9f, 1234);
  r.sampling.top_p = 0.9f;
  r.ignore_eos = true;
  const Outcome o = Collect(*MustSubmit(*engine, r));
  EXPECT_EQ(o.ids, GenerateDirect(r));
}

TEST(EngineGeneration, BatchingNeverChangesASequencesOutput) {
  // 64 sequences of different lengths and sampling parameters, with fixed seeds: one at a time, then all
  // at once on a card with 32 slots (so half of them queue, and prefill chunks mix with decodes).
  std::vector<SequenceRequest> requests;
  for (int i = 0; i < 64; i++) {
    SequenceRequest r = Request(Prompt(2 + (i * 7) % 31, i), 4 + (i * 5) % 13, i % 4 == 0 ? 0.0f : 0.8f, 1000 + i);
    if (i % 3 == 0) r.sampling.top_k = 40;
    if (i % 5 == 0) r.sampling.frequency_penalty = 0.5f;
    r.request_id = "seq" + std::to_string(i);
    requests.push_back(r);
  }
  std::vector<Outcome> alone;
  {
    auto engine = MakeEngine(TinyCard("sim0", 32));
    for (const SequenceRequest& r : requests) alone.push_back(Collect(*MustSubmit(*engine, r)));
  }
  std::set<std::vector<int32_t>> distinct;
  for (const Outcome& o : alone) distinct.insert(o.ids);
  ASSERT_GT(distinct.size(), 48u) << "the sequences should differ, or the comparison proves little";
  EngineOptions options;
  options.step_token_budget = 48;  // prompts need several steps while others decode
  auto engine = MakeEngine(TinyCard("sim0", 32), options);
  std::vector<std::shared_ptr<Stream>> streams;
  for (const SequenceRequest& r : requests) streams.push_back(MustSubmit(*engine, r));
  for (size_t i = 0; i < requests.size(); i++) {
    const Outcome together = Collect(*streams[i]);
    ASSERT_TRUE(together.got_final) << i;
    EXPECT_EQ(together.ids, alone[i].ids) << "sequence " << i;
    EXPECT_EQ(together.text, alone[i].text) << "sequence " << i;
    EXPECT_EQ(together.final.finish_reason, alone[i].final.finish_reason) << "sequence " << i;
  }
}

TEST(EngineGeneration, ChunkedPrefillInterleavesWithRunningDecodes) {
  auto control = std::make_shared<FakeControl>();
  EngineOptions options;
  options.step_token_budget = 8;
  auto engine = MakeEngine(std::make_unique<SlowRecordingDevice>(TinyCard("sim0", 4), control, milliseconds(2)),
                           options);
  SequenceRequest a = Request(Prompt(3, 1), 100);
  a.ignore_eos = true;
  auto stream_a = MustSubmit(*engine, a);
  ASSERT_EQ(NextEvent(*stream_a).kind, Kind::kToken);  // A is decoding
  const int long_prompt = 60;
  auto stream_b = MustSubmit(*engine, Request(Prompt(long_prompt, 2), 2));
  EXPECT_TRUE(Collect(*stream_b).got_final);
  EXPECT_TRUE(Collect(*stream_a).got_final);

  // A holds slot 0 and B slot 1. While A runs, every step carries one decode token of A, however much of
  // B's prompt is waiting; no step exceeds the budget.
  const std::vector<Step> steps = control->steps();
  int first_a = -1, last_a = -1, b_prefill_steps = 0, overlapping = 0;
  for (int i = 0; i < static_cast<int>(steps.size()); i++) {
    EXPECT_LE(steps[i].entries.size(), 8u);
    for (const StepEntry& e : steps[i].entries) {
      if (e.slot == 0 && e.pos >= 3) {
        if (first_a < 0) first_a = i;
        last_a = i;
      }
    }
  }
  for (int i = 0; i < static_cast<int>(steps.size()); i++) {
    int a_entries = 0, b_prefill = 0;
    for (const StepEntry& e : steps[i].entries) {
      if (e.slot == 0) a_entries++;
      if (e.slot == 1 && e.pos < long_prompt) b_prefill++;
    }
    if (i >= first_a && i <= last_a) {
      EXPECT_EQ(a_entries, 1) << "step " << i;
    }
    if (b_prefill > 0) {
      b_prefill_steps++;
      if (a_entries == 1) overlapping++;
    }
  }
  EXPECT_GE(b_prefill_steps, (long_prompt + 6) / 7);  // at most 7 prompt tokens beside A's token
  EXPECT_GT(overlapping, 0) << "B's prefill never ran beside A's decodes";
}

TEST(EngineGeneration, MaxTokensEndsWithLengthAndReportsUsage) {
  auto engine = MakeEngine(TinyCard("sim0", 2));
  SequenceRequest r = Request(Prompt(7, 3), 9);
  r.ignore_eos = true;
  const Outcome o = Collect(*MustSubmit(*engine, r));
  ASSERT_TRUE(o.got_final);
  EXPECT_EQ(o.final.kind, Kind::kFinished);
  EXPECT_EQ(o.final.finish_reason, FinishReason::kLength);
  EXPECT_EQ(o.tokens.size(), 9u);
  EXPECT_EQ(o.final.prompt_tokens, 7);
  EXPECT_EQ(o.final.completion_tokens, 9);
  EXPECT_STREQ(FinishReasonName(o.final.finish_reason), "length");
}

TEST(EngineGeneration, EosEndsWithStopAndIsNotText) {
  auto engine = MakeEngine(TinyCard("sim0", 2));
  SequenceRequest r = Request(Prompt(4, 4), 10);
  r.sampling.logit_bias[Tokenizer::kEosId] = 100.0f;  // EOS at once
  const Outcome o = Collect(*MustSubmit(*engine, r));
  ASSERT_TRUE(o.got_final);
  EXPECT_EQ(o.final.kind, Kind::kFinished);
  EXPECT_EQ(o.final.finish_reason, FinishReason::kStop);
  EXPECT_TRUE(o.tokens.empty());
  EXPECT_EQ(o.text, "");
  EXPECT_EQ(o.final.completion_tokens, 1);  // EOS counts as a generated token
}

TEST(EngineGeneration, IgnoreEosKeepsGoingToMaxTokens) {
  auto engine = MakeEngine(TinyCard("sim0", 2));
  SequenceRequest r = Request(Prompt(4, 4), 6);
  r.sampling.logit_bias[Tokenizer::kEosId] = 100.0f;
  r.ignore_eos = true;
  const Outcome o = Collect(*MustSubmit(*engine, r));
  EXPECT_EQ(o.final.finish_reason, FinishReason::kLength);
  EXPECT_EQ(o.ids, std::vector<int32_t>(6, Tokenizer::kEosId));
  EXPECT_EQ(o.text, "");
}

TEST(EngineGeneration, LogprobsWhenAsked) {
  auto engine = MakeEngine(TinyCard("sim0", 2));
  SequenceRequest r = Request(Prompt(4, 5), 3);
  r.sampling.logprobs = true;
  r.sampling.top_logprobs = 3;
  r.ignore_eos = true;
  const Outcome o = Collect(*MustSubmit(*engine, r));
  ASSERT_EQ(o.tokens.size(), 3u);
  for (const StreamEvent& e : o.tokens) {
    EXPECT_TRUE(std::isfinite(e.logprob));
    EXPECT_LE(e.logprob, 0.0f);
    ASSERT_EQ(e.top_logprobs.size(), 3u);
    EXPECT_EQ(e.top_logprobs[0].token, e.token);  // greedy: the chosen token is the most likely
  }
}

TEST(EngineGeneration, TwoCardsShareTheLoadAndEachSequenceStaysOnOneCard) {
  auto control0 = std::make_shared<FakeControl>();
  auto control1 = std::make_shared<FakeControl>();
  std::vector<std::unique_ptr<Device>> cards;
  cards.push_back(std::make_unique<SlowRecordingDevice>(TinyCard("sim0", 4), control0, milliseconds(2)));
  cards.push_back(std::make_unique<SlowRecordingDevice>(TinyCard("sim1", 4), control1, milliseconds(2)));
  auto engine = MakeEngine(std::move(cards));
  std::vector<std::shared_ptr<Stream>> streams;
  for (int i = 0; i < 4; i++) {
    SequenceRequest r = Request(Prompt(5, 10 + i), 30);
    r.ignore_eos = true;
    streams.push_back(MustSubmit(*engine, r));
  }
  for (auto& s : streams) EXPECT_TRUE(Collect(*s).got_final);

  // Sequences started per card (a pos-0 entry), and on each card every slot's positions run 0, 1, 2, ...
  // without a gap: nothing moved between cards in mid-sequence.
  auto started = [](const std::vector<Step>& steps) {
    int n = 0;
    std::map<int, int> next_pos;  // slot -> next expected position
    for (const Step& step : steps) {
      for (const StepEntry& e : step.entries) {
        if (e.pos == 0) {
          n++;
          next_pos[e.slot] = 0;
        }
        EXPECT_EQ(e.pos, next_pos[e.slot]) << "slot " << e.slot;
        next_pos[e.slot] = e.pos + 1;
      }
    }
    return n;
  };
  EXPECT_EQ(started(control0->steps()), 2);
  EXPECT_EQ(started(control1->steps()), 2);
}

// ---- Stop strings and text, on a scripted card ----

TEST(EngineText, StopStringEndsWithStopAndIsNeverEmitted) {
  FakeDeviceOptions fo;
  fo.next_token = Script(Spell("abcabcxyz"));
  auto engine = MakeEngine(Fake(std::make_shared<FakeControl>(), fo));
  SequenceRequest r = Request({Tokenizer::kBosId}, 20);
  r.stop = {"cx"};
  const Outcome o = Collect(*MustSubmit(*engine, r));
  ASSERT_TRUE(o.got_final);
  EXPECT_EQ(o.final.finish_reason, FinishReason::kStop);
  EXPECT_EQ(o.text, "abcab");
  // "c" could start "cx": held back, then released with the next "a".
  ASSERT_EQ(o.tokens.size(), 6u);
  EXPECT_EQ(o.tokens[2].text, "");
  EXPECT_EQ(o.tokens[3].text, "ca");
  EXPECT_EQ(o.final.completion_tokens, 7);  // the token that completed the stop string counts
}

TEST(EngineText, EarliestOfSeveralStopStrings) {
  FakeDeviceOptions fo;
  fo.next_token = Script(Spell("abcabcxyz"));
  auto engine = MakeEngine(Fake(std::make_shared<FakeControl>(), fo));
  SequenceRequest r = Request({Tokenizer::kBosId}, 20);
  r.stop = {"xy", "bca"};
  const Outcome o = Collect(*MustSubmit(*engine, r));
  EXPECT_EQ(o.final.finish_reason, FinishReason::kStop);
  EXPECT_EQ(o.text, "a");
}

TEST(EngineText, HeldBackTextIsFlushedAtTheEnd) {
  FakeDeviceOptions fo;
  fo.next_token = Script(Spell("hello wor"));
  auto engine = MakeEngine(Fake(std::make_shared<FakeControl>(), fo));
  SequenceRequest r = Request({Tokenizer::kBosId}, 9);
  r.stop = {"world"};
  const Outcome o = Collect(*MustSubmit(*engine, r));
  EXPECT_EQ(o.final.finish_reason, FinishReason::kLength);
  EXPECT_EQ(o.text, "hello wor");
  EXPECT_EQ(o.final.text, "wor");
}

TEST(EngineText, MultiByteCharactersFromByteTokensAndStopStrings) {
  const auto& tok = *TestTokenizer();
  const std::vector<int32_t> script = {tok.PieceToId("a"), tok.ByteToken(0xC3), tok.ByteToken(0xA9), tok.PieceToId("!"),
                                       tok.PieceToId("b")};
  FakeDeviceOptions fo;
  fo.next_token = Script(script);
  auto engine = MakeEngine(Fake(std::make_shared<FakeControl>(), fo));
  SequenceRequest stopped = Request({Tokenizer::kBosId}, 5);
  stopped.stop = {"é!"};
  const Outcome o = Collect(*MustSubmit(*engine, stopped));
  EXPECT_EQ(o.final.finish_reason, FinishReason::kStop);
  EXPECT_EQ(o.text, "a");
  SequenceRequest plain = Request({Tokenizer::kBosId}, 5);
  plain.stop = {"é?"};
  const Outcome p = Collect(*MustSubmit(*engine, plain));
  EXPECT_EQ(p.final.finish_reason, FinishReason::kLength);
  EXPECT_EQ(p.text, "aé!b");
  ASSERT_EQ(p.tokens.size(), 5u);
  EXPECT_EQ(p.tokens[1].text, "");  // half a character: held by the decoder
}

TEST(EngineText, EosMidStreamEndsWithStop) {
  std::vector<int32_t> script = Spell("ab");
  script.push_back(Tokenizer::kEosId);
  script.push_back(TestTokenizer()->PieceToId("c"));
  FakeDeviceOptions fo;
  fo.next_token = Script(script);
  auto engine = MakeEngine(Fake(std::make_shared<FakeControl>(), fo));
  const Outcome o = Collect(*MustSubmit(*engine, Request({Tokenizer::kBosId}, 10)));
  EXPECT_EQ(o.final.finish_reason, FinishReason::kStop);
  EXPECT_EQ(o.text, "ab");
  EXPECT_EQ(o.tokens.size(), 2u);
  EXPECT_EQ(o.final.completion_tokens, 3);
  EXPECT_EQ(o.final.prompt_tokens, 1);
}

// A Llama 3-style vocabulary: EOS is <|end_of_text|>, and <|eot_id|> (end of turn) ends a sequence too.
TEST(EngineText, EndOfTurnEndsWithStopLikeEos) {
  const GgufVocabulary v = testing::SmallByteLevelVocabulary(kVocab);  // for its ids
  auto shared = std::make_shared<const Tokenizer>(testing::SmallByteLevelTokenizer(kVocab));
  for (bool ignore_eos : {false, true}) {
    SCOPED_TRACE(ignore_eos ? "ignore_eos" : "stops");
    const std::vector<int32_t> the = {static_cast<int32_t>(shared->PieceToId("the"))};
    std::vector<int32_t> script = {the[0], v.eot, the[0], v.eos};
    FakeDeviceOptions fo;
    fo.next_token = Script(script);
    std::vector<std::unique_ptr<Device>> cards;
    cards.push_back(Fake(std::make_shared<FakeControl>(), fo));
    auto engine = Engine::Create({}, std::move(cards), shared, nullptr);
    ASSERT_TRUE(engine.ok()) << engine.status().ToString();
    SequenceRequest r = Request({v.bos}, 3);
    r.ignore_eos = ignore_eos;
    const Outcome o = Collect(*MustSubmit(*engine.value(), r));
    EXPECT_EQ(o.text, ignore_eos ? "thethe" : "the");  // the end-of-turn token is never text
    EXPECT_EQ(o.final.finish_reason, ignore_eos ? FinishReason::kLength : FinishReason::kStop);
    EXPECT_EQ(o.final.completion_tokens, ignore_eos ? 3 : 2);
  }
}

// ---- Validation and admission ----

TEST(EngineSubmit, RejectsInvalidRequests) {
  auto engine = MakeEngine(Fake(std::make_shared<FakeControl>()));  // cache_len 64
  EXPECT_EQ(engine->context_length(), 64);
  EXPECT_EQ(engine->Submit(Request({}, 4)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(engine->Submit(Request({1, kVocab}, 4)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(engine->Submit(Request({1}, 0)).status().code(), StatusCode::kInvalidArgument);
  const auto too_long = engine->Submit(Request(Prompt(60, 1), 5));
  EXPECT_EQ(too_long.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(too_long.status().message(), ::testing::HasSubstr("60"));
  EXPECT_THAT(too_long.status().message(), ::testing::HasSubstr("64"));
  SequenceRequest bad = Request({1}, 4);
  bad.sampling.top_p = 0.0f;
  EXPECT_EQ(engine->Submit(bad).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(engine->Submit(Request(Prompt(59, 1), 5)).ok());  // exactly the context
}

TEST(EngineSubmit, CreateRejectsMismatchedTokenizerAndNoCards) {
  EXPECT_EQ(Engine::Create({}, {}, TestTokenizer(), nullptr).status().code(), StatusCode::kInvalidArgument);
  FakeDeviceOptions fo;
  fo.vocab_size = 100;
  std::vector<std::unique_ptr<Device>> cards;
  cards.push_back(Fake(std::make_shared<FakeControl>(), fo));
  EXPECT_EQ(Engine::Create({}, std::move(cards), TestTokenizer(), nullptr).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(EngineSubmit, FullQueueIsResourceExhausted) {
  FakeDeviceOptions fo;
  fo.n_slots = 1;
  fo.delay = milliseconds(10);
  EngineOptions options;
  options.max_queue = 2;
  auto engine = MakeEngine(Fake(std::make_shared<FakeControl>(), fo), options);
  auto running = MustSubmit(*engine, Request({1}, 60));
  ASSERT_TRUE(Eventually([&] { return engine->State().running == 1; }));
  auto q1 = MustSubmit(*engine, Request({1}, 60));
  auto q2 = MustSubmit(*engine, Request({1}, 60));
  EXPECT_EQ(engine->State().waiting, 2);
  EXPECT_EQ(engine->Submit(Request({1}, 60)).status().code(), StatusCode::kResourceExhausted);
}

// ---- Cancellation and deadlines ----

TEST(EngineCancel, WhileQueued) {
  FakeDeviceOptions fo;
  fo.n_slots = 1;
  fo.delay = milliseconds(10);
  auto engine = MakeEngine(Fake(std::make_shared<FakeControl>(), fo));
  auto running = MustSubmit(*engine, Request({1}, 60));
  ASSERT_EQ(NextEvent(*running).kind, Kind::kToken);
  auto queued = MustSubmit(*engine, Request({1}, 60));
  queued->Cancel();
  const Outcome o = Collect(*queued);
  ASSERT_TRUE(o.got_final);
  EXPECT_EQ(o.final.kind, Kind::kError);
  EXPECT_EQ(o.final.error.code(), StatusCode::kCancelled);
  EXPECT_EQ(o.final.completion_tokens, 0);
  EXPECT_EQ(engine->State().waiting, 0);
  EXPECT_EQ(engine->State().running, 1);  // the other one is untouched
  running->Cancel();
  EXPECT_EQ(Collect(*running).final.error.code(), StatusCode::kCancelled);
  EXPECT_EQ(SlotsUsed(*engine), 0);
}

TEST(EngineCancel, WhilePrefillingFreesTheSlot) {
  auto control = std::make_shared<FakeControl>();
  FakeDeviceOptions fo;
  fo.n_slots = 1;
  fo.delay = milliseconds(5);
  EngineOptions options;
  options.step_token_budget = 2;  // a 40-token prompt takes 20 steps
  auto engine = MakeEngine(Fake(control, fo), options);
  auto stream = MustSubmit(*engine, Request(Prompt(40, 1), 4));
  ASSERT_TRUE(Eventually([&] { return control->step_count() >= 2; }));
  stream->Cancel();
  const Outcome o = Collect(*stream);
  EXPECT_EQ(o.final.error.code(), StatusCode::kCancelled);
  EXPECT_TRUE(o.tokens.empty());
  EXPECT_EQ(SlotsUsed(*engine), 0);  // freed before the final event was pushed
  const int steps = control->step_count();
  EXPECT_LT(steps, 20);
  std::this_thread::sleep_for(milliseconds(30));
  EXPECT_EQ(control->step_count(), steps) << "the card kept running a cancelled prefill";
}

TEST(EngineCancel, WhileDecodingFreesTheSlot) {
  FakeDeviceOptions fo;
  fo.delay = milliseconds(2);
  auto engine = MakeEngine(Fake(std::make_shared<FakeControl>(), fo));
  auto stream = MustSubmit(*engine, Request({1}, 60));
  ASSERT_EQ(NextEvent(*stream).kind, Kind::kToken);
  ASSERT_EQ(NextEvent(*stream).kind, Kind::kToken);
  stream->Cancel();
  const Outcome o = Collect(*stream);
  EXPECT_EQ(o.final.kind, Kind::kError);
  EXPECT_EQ(o.final.error.code(), StatusCode::kCancelled);
  EXPECT_GE(o.final.completion_tokens, 2);
  EXPECT_EQ(SlotsUsed(*engine), 0);
  StreamEvent e;
  EXPECT_FALSE(stream->Next(&e, milliseconds(1)));  // nothing after the final event
}

// Deadlines on the engine's clock: a FakeClock that moves only when the test says, so the deadline passes
// between two known steps however slow the machine is.
TEST(EngineCancel, DeadlineWhileDecoding) {
  FakeClock clock;
  FakeDeviceOptions fo;
  fo.delay = milliseconds(2);
  EngineOptions options;
  options.clock = &clock;
  auto engine = MakeEngine(Fake(std::make_shared<FakeControl>(), fo), options);
  SequenceRequest r = Request({1}, 60);
  r.deadline = clock.Now() + milliseconds(100);
  auto stream = MustSubmit(*engine, r);
  ASSERT_EQ(NextEvent(*stream).kind, Kind::kToken);
  clock.Advance(milliseconds(99));
  ASSERT_EQ(NextEvent(*stream).kind, Kind::kToken) << "the deadline has not passed yet";
  clock.Advance(milliseconds(1));
  const Outcome o = Collect(*stream);
  EXPECT_EQ(o.final.error.code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(o.final.error.message(), "request timed out after 100 ms");
  EXPECT_GE(o.final.completion_tokens, 2);
  EXPECT_LT(o.final.completion_tokens, 60);
  EXPECT_EQ(SlotsUsed(*engine), 0);
}

TEST(EngineCancel, DeadlineWhileQueued) {
  FakeClock clock;
  FakeDeviceOptions fo;
  fo.n_slots = 1;
  fo.delay = milliseconds(2);
  EngineOptions options;
  options.clock = &clock;
  auto engine = MakeEngine(Fake(std::make_shared<FakeControl>(), fo), options);
  auto running = MustSubmit(*engine, Request({1}, 60));
  ASSERT_EQ(NextEvent(*running).kind, Kind::kToken);
  SequenceRequest r = Request({1}, 60);
  r.deadline = clock.Now() + milliseconds(50);
  auto queued = MustSubmit(*engine, r);
  StreamEvent e;
  EXPECT_FALSE(queued->Next(&e, milliseconds(20))) << "ended before its deadline";
  AdvanceWhenParked(clock, milliseconds(50));  // the housekeeping thread sweeps the queue on the same clock
  const Outcome o = Collect(*queued);
  EXPECT_EQ(o.final.error.code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(o.final.error.message(), "request timed out after 50 ms");
  EXPECT_EQ(engine->State().running, 1);
  running->Cancel();
}

// ---- Card failures ----

// Two fake cards: "fake0" with 4 slots (more free slots: the first request goes there), set up by `faulty`
// to fail or hang, and a good "fake1" with 2 slots.
std::vector<std::unique_ptr<Device>> FaultyAndGoodCards(std::shared_ptr<FakeControl> control0,
                                                        std::shared_ptr<FakeControl> control1,
                                                        FakeDeviceOptions faulty) {
  faulty.name = "fake0";
  faulty.n_slots = 4;
  FakeDeviceOptions good;
  good.name = "fake1";
  good.n_slots = 2;
  std::vector<std::unique_ptr<Device>> cards;
  cards.push_back(Fake(std::move(control0), faulty));
  cards.push_back(Fake(std::move(control1), good));
  return cards;
}

// Cards of different sizes: the busy big card admits until the small idle one has more room, and the small one
// then takes the rest at once (it was asleep: the big card's admission must wake it), not when the big card
// next frees a slot.
TEST(EngineAdmission, AnIdleSmallerCardTakesWhatABusyBiggerCardLeaves) {
  FakeDeviceOptions big;
  big.name = "big";
  big.n_slots = 8;
  big.delay = milliseconds(30);  // 60 tokens: ~1.8 s on either card
  FakeDeviceOptions small;
  small.name = "small";
  small.n_slots = 4;
  small.delay = milliseconds(30);
  std::vector<std::unique_ptr<Device>> cards;
  cards.push_back(Fake(std::make_shared<FakeControl>(), big));
  cards.push_back(Fake(std::make_shared<FakeControl>(), small));
  auto engine = MakeEngine(std::move(cards));
  std::vector<std::shared_ptr<Stream>> long_ones;
  for (int i = 0; i < 3; i++) long_ones.push_back(MustSubmit(*engine, Request({1}, 60)));
  ASSERT_TRUE(Eventually([&] { return engine->State().cards[0].slots_used == 3; }));
  ASSERT_EQ(engine->State().cards[1].slots_used, 0) << "the bigger card had more room for all three";
  // Big: 5 free, small: 4. The big card takes two (down to 3 free); the third is the small card's. Nothing
  // on the big card ends for ~1.8 s, so only the big card's admission can wake the small one sooner.
  for (int i = 0; i < 3; i++) long_ones.push_back(MustSubmit(*engine, Request({1}, 60)));
  EXPECT_TRUE(Eventually([&] { return engine->State().cards[1].slots_used == 1; }, milliseconds(1000)))
      << "the small card slept while the queue head waited for it: big " << engine->State().cards[0].slots_used
      << ", small " << engine->State().cards[1].slots_used << ", waiting " << engine->State().waiting;
  EXPECT_EQ(engine->State().cards[0].slots_used, 5);
  EXPECT_EQ(engine->State().waiting, 0);
  for (auto& s : long_ones) s->Cancel();
}

TEST(EngineFailure, CardFailingBeforeAnyTokenRequeuesToAnotherCard) {
  auto control0 = std::make_shared<FakeControl>();
  auto control1 = std::make_shared<FakeControl>();
  FakeDeviceOptions broken;
  broken.fail_at_step = 0;
  auto cards = FaultyAndGoodCards(control0, control1, broken);
  auto engine = MakeEngine(std::move(cards));
  const Outcome o = Collect(*MustSubmit(*engine, Request({1}, 5)));
  ASSERT_TRUE(o.got_final);
  EXPECT_EQ(o.final.kind, Kind::kFinished) << o.final.error.ToString();
  EXPECT_EQ(o.tokens.size(), 5u);
  EXPECT_EQ(control0->step_count(), 1);
  EXPECT_GE(control1->step_count(), 5);
  const EngineState state = engine->State();
  EXPECT_FALSE(state.cards[0].healthy);
  EXPECT_TRUE(state.cards[1].healthy);
  EXPECT_EQ(state.cards[0].slots_used, 0);
}

// What the server does with a card past card_fail_celsius: FailCard takes it out as a failed step would.
TEST(EngineFailure, FailCardTakesACardOutOfServiceAtItsNextBoundary) {
  auto control0 = std::make_shared<FakeControl>();
  auto control1 = std::make_shared<FakeControl>();
  auto engine = MakeEngine(FaultyAndGoodCards(control0, control1, FakeDeviceOptions{}));
  EXPECT_EQ(engine->FailCard("nope", "too hot").code(), StatusCode::kNotFound);
  ASSERT_TRUE(engine->FailCard("fake0", "too hot: 101.0 C, at or past card_fail_celsius").ok());
  // The idle worker acts when woken; wait for it without a fixed sleep.
  const auto until = std::chrono::steady_clock::now() + kLongWait;
  while (engine->State().cards[0].healthy && std::chrono::steady_clock::now() < until) std::this_thread::yield();
  EXPECT_FALSE(engine->State().cards[0].healthy);
  EXPECT_TRUE(engine->State().cards[1].healthy);
  EXPECT_TRUE(engine->FailCard("fake0", "again").ok()) << "failing a failed card is no error";
  // New work goes to the other card.
  const Outcome o = Collect(*MustSubmit(*engine, Request({1}, 3)));
  EXPECT_EQ(o.final.kind, Kind::kFinished) << o.final.error.ToString();
  EXPECT_EQ(control0->step_count(), 0);
}

TEST(EngineState, ReportsTheSensorNewsOfEachCard) {
  auto engine = MakeEngine(
      FaultyAndGoodCards(std::make_shared<FakeControl>(), std::make_shared<FakeControl>(), FakeDeviceOptions{}));
  EXPECT_EQ(engine->State().cards[1].sensors.thermal, "ok");
  EXPECT_FALSE(engine->State().cards[1].sensors.watts.has_value()) << "unavailable until a sensor says";
  engine->ReportCardSensors("fake1", {31.5, 91.0, "hot"});
  engine->ReportCardSensors("absent", {1.0, 1.0, "ok"});
  const EngineState s = engine->State();
  EXPECT_EQ(s.cards[1].sensors.watts, 31.5);
  EXPECT_EQ(s.cards[1].sensors.celsius, 91.0);
  EXPECT_EQ(s.cards[1].sensors.thermal, "hot");
  EXPECT_TRUE(s.cards[1].healthy) << "hot is a warning, not a failure";
  EXPECT_FALSE(s.cards[0].sensors.celsius.has_value());
}

TEST(EngineFailure, CardFailingMidStreamGivesDeviceFailure) {
  auto control0 = std::make_shared<FakeControl>();
  FakeDeviceOptions broken;
  broken.fail_at_step = 3;
  auto cards = FaultyAndGoodCards(control0, std::make_shared<FakeControl>(), broken);
  auto engine = MakeEngine(std::move(cards));
  const Outcome o = Collect(*MustSubmit(*engine, Request({1}, 10)));
  ASSERT_TRUE(o.got_final);
  EXPECT_EQ(o.tokens.size(), 3u);
  EXPECT_EQ(o.final.kind, Kind::kError);
  EXPECT_EQ(o.final.error.code(), StatusCode::kDeviceFailure);
  EXPECT_THAT(o.final.error.message(), ::testing::HasSubstr("fake0"));
  EXPECT_EQ(o.final.completion_tokens, 3);
  // The other card still serves.
  EXPECT_EQ(Collect(*MustSubmit(*engine, Request({1}, 3))).final.kind, Kind::kFinished);
}

TEST(EngineFailure, ThrowingCardIsAFailureAndWithoutHealthyCardsSubmitIsUnavailable) {
  FakeDeviceOptions fo;
  fo.fail_at_step = 0;
  fo.throw_at_fail = true;
  auto engine = MakeEngine(Fake(std::make_shared<FakeControl>(), fo));
  const Outcome o = Collect(*MustSubmit(*engine, Request({1}, 5)));
  EXPECT_EQ(o.final.error.code(), StatusCode::kDeviceFailure);
  EXPECT_THAT(o.final.error.message(), ::testing::HasSubstr("threw"));
  EXPECT_FALSE(engine->State().cards[0].healthy);
  EXPECT_EQ(engine->Submit(Request({1}, 5)).status().code(), StatusCode::kUnavailable);
}

TEST(EngineFailure, QueuedSequencesFailUnavailableWhenTheLastCardFails) {
  FakeDeviceOptions fo;
  fo.n_slots = 1;
  fo.delay = milliseconds(20);
  fo.fail_at_step = 3;
  auto engine = MakeEngine(Fake(std::make_shared<FakeControl>(), fo));
  auto running = MustSubmit(*engine, Request({1}, 20));
  auto queued = MustSubmit(*engine, Request({1}, 20));
  EXPECT_EQ(Collect(*running).final.error.code(), StatusCode::kDeviceFailure);
  EXPECT_EQ(Collect(*queued).final.error.code(), StatusCode::kUnavailable);
}

TEST(EngineFailure, HungCardIsMarkedUnhealthyWithinStepTimeout) {
  auto control0 = std::make_shared<FakeControl>();
  FakeDeviceOptions hanging;
  hanging.hang_at_step = 2;
  auto cards = FaultyAndGoodCards(control0, std::make_shared<FakeControl>(), hanging);
  FakeClock clock;
  EngineOptions options;
  options.step_timeout = milliseconds(200);
  options.clock = &clock;
  auto engine = MakeEngine(std::move(cards), options);
  auto stream = MustSubmit(*engine, Request({1}, 10));
  ASSERT_EQ(NextEvent(*stream).kind, Kind::kToken);
  ASSERT_EQ(NextEvent(*stream).kind, Kind::kToken);
  ASSERT_TRUE(Eventually([&] { return control0->hanging(); }));
  AdvanceWhenParked(clock, milliseconds(250));  // the watchdog's time: the step has now run past step_timeout
  const StreamEvent e = NextEvent(*stream);
  EXPECT_EQ(e.kind, Kind::kError);
  EXPECT_EQ(e.error.code(), StatusCode::kDeviceFailure);
  EXPECT_THAT(e.error.message(), ::testing::HasSubstr("fake0"));
  EXPECT_FALSE(engine->State().cards[0].healthy);
  EXPECT_EQ(engine->State().cards[0].slots_used, 0);
  // The card is still stuck, the engine serves on the other one.
  EXPECT_EQ(Collect(*MustSubmit(*engine, Request({1}, 3))).final.kind, Kind::kFinished);
  control0->Release();  // lets the stuck worker leave Run so the engine can join it
}

TEST(EngineFailure, HungCardBeforeAnyTokenRequeues) {
  auto control0 = std::make_shared<FakeControl>();
  FakeDeviceOptions hanging;
  hanging.hang_at_step = 0;
  auto cards = FaultyAndGoodCards(control0, std::make_shared<FakeControl>(), hanging);
  FakeClock clock;
  EngineOptions options;
  options.step_timeout = milliseconds(100);
  options.clock = &clock;
  auto engine = MakeEngine(std::move(cards), options);
  auto stream = MustSubmit(*engine, Request({1}, 4));
  ASSERT_TRUE(Eventually([&] { return control0->hanging(); }));
  AdvanceWhenParked(clock, milliseconds(150));
  const Outcome o = Collect(*stream);
  EXPECT_EQ(o.final.kind, Kind::kFinished) << o.final.error.ToString();
  EXPECT_EQ(o.tokens.size(), 4u);
  control0->Release();
}

// The watchdog on a FakeClock: a hung step is failed when the engine's time passes step_timeout, and not
// before, however long the wall clock takes.
TEST(EngineFailure, OnAFakeClockAHungCardFailsOnlyOnceItsTimeoutHasPassed) {
  FakeClock clock;
  auto control0 = std::make_shared<FakeControl>();
  FakeDeviceOptions hanging;
  hanging.hang_at_step = 1;
  auto cards = FaultyAndGoodCards(control0, std::make_shared<FakeControl>(), hanging);
  EngineOptions options;
  options.step_timeout = std::chrono::seconds(30);
  options.clock = &clock;
  auto engine = MakeEngine(std::move(cards), options);
  auto stream = MustSubmit(*engine, Request({1}, 10));
  ASSERT_EQ(NextEvent(*stream).kind, Kind::kToken);
  ASSERT_TRUE(Eventually([&] { return control0->hanging(); }));
  clock.Advance(std::chrono::seconds(29));
  std::this_thread::sleep_for(milliseconds(50));  // housekeeping runs (every 20 ms of fake time) and waits
  EXPECT_TRUE(engine->State().cards[0].healthy);
  clock.Advance(std::chrono::seconds(2));
  const StreamEvent e = NextEvent(*stream);
  EXPECT_EQ(e.kind, Kind::kError);
  EXPECT_EQ(e.error.code(), StatusCode::kDeviceFailure);
  EXPECT_THAT(e.error.message(), ::testing::HasSubstr("a step did not finish within 30000 ms"));
  EXPECT_FALSE(engine->State().cards[0].healthy);
  control0->Release();
}

// ---- Drain and shutdown ----

TEST(EngineLifecycle, DrainFinishesWorkAndRefusesNew) {
  FakeDeviceOptions fo;
  fo.n_slots = 1;
  fo.delay = milliseconds(2);
  auto engine = MakeEngine(Fake(std::make_shared<FakeControl>(), fo));
  auto a = MustSubmit(*engine, Request({1}, 10));
  auto b = MustSubmit(*engine, Request({1}, 10));
  engine->StartDrain();
  EXPECT_TRUE(engine->State().draining);
  EXPECT_FALSE(engine->Drained());
  EXPECT_EQ(engine->Submit(Request({1}, 10)).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(Collect(*a).final.kind, Kind::kFinished);
  EXPECT_EQ(Collect(*b).final.kind, Kind::kFinished);
  EXPECT_TRUE(engine->Drained());
}

TEST(EngineLifecycle, DestructorGivesEveryStreamAFinalEvent) {
  FakeDeviceOptions fo;
  fo.n_slots = 2;
  fo.delay = milliseconds(10);
  auto engine = MakeEngine(Fake(std::make_shared<FakeControl>(), fo));
  std::vector<std::shared_ptr<Stream>> streams;
  for (int i = 0; i < 5; i++) streams.push_back(MustSubmit(*engine, Request({1}, 60)));
  ASSERT_EQ(NextEvent(*streams[0]).kind, Kind::kToken);
  engine.reset();
  for (auto& s : streams) {
    const Outcome o = Collect(*s, milliseconds(1000));
    ASSERT_TRUE(o.got_final);
    EXPECT_EQ(o.final.kind, Kind::kError);
    EXPECT_EQ(o.final.error.code(), StatusCode::kCancelled);
    StreamEvent e;
    EXPECT_FALSE(s->Next(&e, milliseconds(1)));
  }
}

TEST(EngineLifecycle, DestructorEndsStreamsOfACardStuckInRunAndJoinsOnceReleased) {
  auto control = std::make_shared<FakeControl>();
  FakeDeviceOptions fo;
  fo.hang_at_step = 1;
  auto engine = MakeEngine(Fake(control, fo));  // step_timeout 30 s: the watchdog stays quiet
  auto stream = MustSubmit(*engine, Request({1}, 10));
  ASSERT_TRUE(Eventually([&] { return control->hanging(); }));
  // The destructor must deliver the final event while the card is still stuck; only then is it released.
  bool final_before_release = false;
  std::thread releaser([&] {
    final_before_release = Collect(*stream, milliseconds(10000)).got_final;
    control->Release();
  });
  engine.reset();
  releaser.join();
  EXPECT_TRUE(final_before_release);
}

// ---- Metrics ----

TEST(EngineMetricsTest, CountsRequestsTokensAndCards) {
  prometheus::Registry registry;
  EngineMetrics metrics(registry, "tiny");
  {
    auto engine = MakeEngine(TinyCard("sim0", 4), {}, &metrics);
    for (int i = 0; i < 2; i++) {
      SequenceRequest r = Request(Prompt(4, i), 3);
      r.ignore_eos = true;
      EXPECT_EQ(Collect(*MustSubmit(*engine, r)).final.kind, Kind::kFinished);
    }
  }
  // Labels come out in alphabetical order.
  const std::string text = prometheus::TextSerializer().Serialize(registry.Collect());
  EXPECT_THAT(text, ::testing::HasSubstr("fpgaserve_request_success_total{finish_reason=\"length\",model=\"tiny\"} 2"));
  EXPECT_THAT(text, ::testing::HasSubstr("fpgaserve_generation_tokens_total{model=\"tiny\"} 6"));
  EXPECT_THAT(text, ::testing::HasSubstr("fpgaserve_prompt_tokens_total{model=\"tiny\"} 8"));
  EXPECT_THAT(text, ::testing::HasSubstr("fpgaserve_card_kv_slots_total{device=\"sim0\",model=\"tiny\"} 4"));
  EXPECT_THAT(text, ::testing::HasSubstr("fpgaserve_card_kv_slots_used{device=\"sim0\",model=\"tiny\"} 0"));
  EXPECT_THAT(text, ::testing::HasSubstr("fpgaserve_card_healthy{device=\"sim0\",model=\"tiny\"} 1"));
  EXPECT_THAT(text, ::testing::HasSubstr("fpgaserve_num_requests_running{model=\"tiny\"} 0"));
  EXPECT_THAT(text, ::testing::HasSubstr("fpgaserve_num_requests_waiting{model=\"tiny\"} 0"));
  EXPECT_THAT(text, ::testing::HasSubstr("fpgaserve_time_to_first_token_seconds_count{model=\"tiny\"} 2"));
  EXPECT_THAT(text, ::testing::HasSubstr("fpgaserve_inter_token_latency_seconds_count{model=\"tiny\"} 4"));
  EXPECT_THAT(text, ::testing::HasSubstr("fpgaserve_e2e_request_latency_seconds_count{model=\"tiny\"} 2"));
  EXPECT_THAT(text, ::testing::HasSubstr("fpgaserve_request_queue_time_seconds_count{model=\"tiny\"} 2"));
  EXPECT_THAT(text, ::testing::HasSubstr("fpgaserve_card_step_batch_size_count{device=\"sim0\",model=\"tiny\"} 6"));
  EXPECT_THAT(text, ::testing::HasSubstr("fpgaserve_card_busy_seconds_total{device=\"sim0\",model=\"tiny\"}"));
}

TEST(EngineMetricsTest, FailedCardIsReportedUnhealthy) {
  prometheus::Registry registry;
  EngineMetrics metrics(registry, "tiny");
  FakeDeviceOptions fo;
  fo.fail_at_step = 1;
  {
    auto engine = MakeEngine(Fake(std::make_shared<FakeControl>(), fo), {}, &metrics);
    EXPECT_EQ(Collect(*MustSubmit(*engine, Request({1}, 5))).final.error.code(), StatusCode::kDeviceFailure);
  }
  const std::string text = prometheus::TextSerializer().Serialize(registry.Collect());
  EXPECT_THAT(text, ::testing::HasSubstr("fpgaserve_card_healthy{device=\"fake0\",model=\"tiny\"} 0"));
  EXPECT_THAT(text, ::testing::HasSubstr("fpgaserve_request_failure_total{code=\"device_failure\",model=\"tiny\"} 1"));
}

}  // namespace
}  // namespace fpgaserve
