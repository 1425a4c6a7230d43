// SequenceOutput: the events one sequence makes of its logits rows, without threads, cards or an engine
// (engine.h, "Events of a sequence"): token texts held back and released, end of generation, stop strings,
// length, the U+FFFD flush of an unfinished character, usage, logprobs.
#include "server/engine/sequence_output.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "server/engine/test_tokenizer.h"

namespace fpgaserve {
namespace {

using Kind = StreamEvent::Kind;
using testing::kTestVocab;
using testing::TestTokenizer;

// A greedy request for `max_tokens` after a BOS prompt.
SequenceRequest Greedy(int max_tokens, std::vector<std::string> stop = {}) {
  SequenceRequest r;
  r.prompt = {Tokenizer::kBosId};
  r.sampling.temperature = 0.0f;
  r.sampling.seed = 1;
  r.max_tokens = max_tokens;
  r.stop = std::move(stop);
  return r;
}

int32_t Id(const std::string& piece) { return TestTokenizer()->PieceToId(piece); }

// Feeds rows that make greedy sampling pick `tokens` in order, until the output finishes; returns what each
// row produced.
std::vector<SequenceOutput::Next> Feed(SequenceOutput& out, const std::vector<int32_t>& tokens, int slot_full_at = -1) {
  std::vector<SequenceOutput::Next> all;
  for (size_t i = 0; i < tokens.size() && !out.finished(); i++) {
    std::vector<float> row(kTestVocab, 0.0f);
    row[tokens[i]] = 10.0f;
    all.push_back(out.OnLogits(row.data(), static_cast<int>(i) == slot_full_at));
  }
  return all;
}

std::vector<int32_t> Spell(const std::string& text) {
  std::vector<int32_t> ids;
  for (char c : text) ids.push_back(Id(std::string(1, c)));
  return ids;
}

// All text, token events' and the final event's.
std::string TextOf(const std::vector<SequenceOutput::Next>& nexts) {
  std::string text;
  for (const auto& n : nexts) {
    if (n.token_event) text += n.token_event->text;
    if (n.final_event) text += n.final_event->text;
  }
  return text;
}

TEST(OutputEvents, EachTokenIsAKTokenEventAndMaxTokensEndsWithLength) {
  const SequenceRequest r = Greedy(3);
  SequenceOutput out(r, 1, kTestVocab, *TestTokenizer());
  const auto nexts = Feed(out, Spell("abcd"));
  ASSERT_EQ(nexts.size(), 3u);
  for (size_t i = 0; i < 3; i++) {
    ASSERT_TRUE(nexts[i].token_event.has_value());
    EXPECT_EQ(nexts[i].token_event->kind, Kind::kToken);
    EXPECT_EQ(nexts[i].token_event->token, Id(std::string(1, "abc"[i])));
    EXPECT_EQ(nexts[i].token_event->text, std::string(1, "abc"[i]));
    EXPECT_EQ(nexts[i].final_event.has_value(), i == 2);  // after the last token's kToken event
  }
  const StreamEvent& fin = *nexts[2].final_event;
  EXPECT_EQ(fin.kind, Kind::kFinished);
  EXPECT_EQ(fin.finish_reason, FinishReason::kLength);
  EXPECT_EQ(fin.text, "");
  EXPECT_EQ(fin.prompt_tokens, 1);
  EXPECT_EQ(fin.completion_tokens, 3);
  EXPECT_TRUE(out.finished());
  EXPECT_TRUE(out.emitted());
  EXPECT_EQ(out.generated(), 3);
}

TEST(OutputEvents, AFullSlotEndsWithLengthLikeMaxTokens) {
  const SequenceRequest r = Greedy(10);
  SequenceOutput out(r, 1, kTestVocab, *TestTokenizer());
  const auto nexts = Feed(out, Spell("abcd"), /*slot_full_at=*/1);
  ASSERT_EQ(nexts.size(), 2u);
  ASSERT_TRUE(nexts[1].token_event.has_value());
  ASSERT_TRUE(nexts[1].final_event.has_value());
  EXPECT_EQ(nexts[1].final_event->finish_reason, FinishReason::kLength);
  EXPECT_EQ(nexts[1].final_event->completion_tokens, 2);
}

TEST(OutputEvents, EosEndsWithStopAndIsNeitherTextNorATokenEvent) {
  const SequenceRequest r = Greedy(10);
  SequenceOutput out(r, 1, kTestVocab, *TestTokenizer());
  const auto nexts = Feed(out, {Id("a"), Tokenizer::kEosId, Id("b")});
  ASSERT_EQ(nexts.size(), 2u);
  EXPECT_FALSE(nexts[1].token_event.has_value());
  ASSERT_TRUE(nexts[1].final_event.has_value());
  EXPECT_EQ(nexts[1].token, Tokenizer::kEosId);
  EXPECT_EQ(nexts[1].final_event->finish_reason, FinishReason::kStop);
  EXPECT_EQ(nexts[1].final_event->text, "");
  EXPECT_EQ(nexts[1].final_event->completion_tokens, 2);  // EOS was generated
}

TEST(OutputEvents, EosAsTheFirstTokenLeavesTheSequenceUnemitted) {
  const SequenceRequest r = Greedy(10);
  SequenceOutput out(r, 1, kTestVocab, *TestTokenizer());
  Feed(out, {Tokenizer::kEosId});
  EXPECT_TRUE(out.finished());
  EXPECT_FALSE(out.emitted());
}

TEST(OutputEvents, WithIgnoreEosEosIsAnOrdinaryTokenWithoutText) {
  SequenceRequest r = Greedy(3);
  r.ignore_eos = true;
  SequenceOutput out(r, 1, kTestVocab, *TestTokenizer());
  const auto nexts = Feed(out, {Id("a"), Tokenizer::kEosId, Id("b")});
  ASSERT_EQ(nexts.size(), 3u);
  ASSERT_TRUE(nexts[1].token_event.has_value());
  EXPECT_EQ(nexts[1].token_event->token, Tokenizer::kEosId);
  EXPECT_EQ(nexts[1].token_event->text, "");
  EXPECT_EQ(nexts[2].final_event->finish_reason, FinishReason::kLength);
  EXPECT_EQ(TextOf(nexts), "ab");
}

TEST(OutputStop, AStopStringIsNeverEmittedAndItsLastTokenIsNoTokenEvent) {
  const SequenceRequest r = Greedy(20, {"cx"});
  SequenceOutput out(r, 1, kTestVocab, *TestTokenizer());
  const auto nexts = Feed(out, Spell("abcabcxyz"));
  ASSERT_EQ(nexts.size(), 7u);
  EXPECT_EQ(nexts[2].token_event->text, "");    // "c" could start "cx": held back
  EXPECT_EQ(nexts[3].token_event->text, "ca");  // released with the next "a"
  EXPECT_FALSE(nexts[6].token_event.has_value());
  ASSERT_TRUE(nexts[6].final_event.has_value());
  EXPECT_EQ(nexts[6].final_event->finish_reason, FinishReason::kStop);
  EXPECT_EQ(TextOf(nexts), "abcab");
  EXPECT_EQ(nexts[6].final_event->completion_tokens, 7);  // the token that completed it counts
}

TEST(OutputStop, HeldBackTextIsFlushedAtTheEnd) {
  const SequenceRequest r = Greedy(9, {"world"});
  SequenceOutput out(r, 1, kTestVocab, *TestTokenizer());
  const auto nexts = Feed(out, Spell("hello wor"));
  ASSERT_EQ(nexts.size(), 9u);
  EXPECT_EQ(nexts[8].final_event->finish_reason, FinishReason::kLength);
  EXPECT_EQ(nexts[8].final_event->text, "wor");
  EXPECT_EQ(TextOf(nexts), "hello wor");
}

TEST(OutputText, HalfACharacterIsHeldAndAtTheEndBecomesReplacementCharacter) {
  const auto& tok = *TestTokenizer();
  const SequenceRequest r = Greedy(2);
  SequenceOutput out(r, 1, kTestVocab, tok);
  // "é" is C3 A9: after C3 alone nothing is visible; the end flushes it as U+FFFD.
  const auto nexts = Feed(out, {Id("a"), tok.ByteToken(0xC3)});
  ASSERT_EQ(nexts.size(), 2u);
  EXPECT_EQ(nexts[1].token_event->text, "");
  EXPECT_EQ(nexts[1].final_event->finish_reason, FinishReason::kLength);
  EXPECT_EQ(nexts[1].final_event->text, "\xEF\xBF\xBD");
  EXPECT_EQ(TextOf(nexts), "a\xEF\xBF\xBD");
}

TEST(OutputText, AWholeCharacterFromTwoByteTokensIsReleasedAtItsSecondByte) {
  const auto& tok = *TestTokenizer();
  const SequenceRequest r = Greedy(5, {"é?"});
  SequenceOutput out(r, 1, kTestVocab, tok);
  const auto nexts = Feed(out, {Id("a"), tok.ByteToken(0xC3), tok.ByteToken(0xA9), Id("!"), Id("b")});
  ASSERT_EQ(nexts.size(), 5u);
  EXPECT_EQ(nexts[1].token_event->text, "");  // half a character: held by the decoder
  EXPECT_EQ(nexts[2].token_event->text, "");  // "é" could start "é?": held by the stop matcher
  EXPECT_EQ(nexts[3].token_event->text, "é!");
  EXPECT_EQ(TextOf(nexts), "aé!b");
}

// The flushed U+FFFD can itself complete a stop string: the sequence then ends with "stop", not "length".
TEST(OutputStop, TheFlushedReplacementCharacterCanCompleteAStopString) {
  const auto& tok = *TestTokenizer();
  const SequenceRequest r = Greedy(2, {"a\xEF\xBF\xBD"});
  SequenceOutput out(r, 1, kTestVocab, tok);
  const auto nexts = Feed(out, {Id("a"), tok.ByteToken(0xC3)});
  ASSERT_EQ(nexts.size(), 2u);
  ASSERT_TRUE(nexts[1].final_event.has_value());
  EXPECT_EQ(nexts[1].final_event->finish_reason, FinishReason::kStop);
  EXPECT_EQ(TextOf(nexts), "");
}

TEST(OutputEvents, LogprobsOnlyWhenAsked) {
  SequenceRequest plain = Greedy(1);
  SequenceOutput a(plain, 1, kTestVocab, *TestTokenizer());
  const auto without = Feed(a, {Id("a")});
  EXPECT_EQ(without[0].token_event->logprob, 0.0f);
  EXPECT_TRUE(without[0].token_event->top_logprobs.empty());

  SequenceRequest asked = Greedy(1);
  asked.sampling.logprobs = true;
  asked.sampling.top_logprobs = 2;
  SequenceOutput b(asked, 1, kTestVocab, *TestTokenizer());
  const auto with = Feed(b, {Id("a")});
  EXPECT_LT(with[0].token_event->logprob, 0.0f);
  EXPECT_GT(with[0].token_event->logprob, -0.05f);  // 10 against 511 zeros: about -0.023
  ASSERT_EQ(with[0].token_event->top_logprobs.size(), 2u);
  EXPECT_EQ(with[0].token_event->top_logprobs[0].token, Id("a"));
}

TEST(OutputEvents, AnErrorEventCarriesUsageSoFar) {
  const SequenceRequest r = Greedy(10);
  SequenceOutput out(r, 1, kTestVocab, *TestTokenizer());
  Feed(out, Spell("ab"));
  const StreamEvent e = out.ErrorEvent(Status::Cancelled("the request was cancelled"));
  EXPECT_EQ(e.kind, Kind::kError);
  EXPECT_EQ(e.error.code(), StatusCode::kCancelled);
  EXPECT_EQ(e.prompt_tokens, 1);
  EXPECT_EQ(e.completion_tokens, 2);
  EXPECT_FALSE(out.finished());
}

// The same seed gives the same tokens from the same rows, whatever else happens: the per-sequence RNG is
// what keeps batching from changing a sequence's output.
TEST(OutputEvents, TheSameSeedSamplesTheSameTokens) {
  SequenceRequest r = Greedy(50);
  r.sampling.temperature = 1.0f;
  r.ignore_eos = true;
  auto run = [&](uint64_t seed) {
    SequenceOutput out(r, seed, kTestVocab, *TestTokenizer());
    std::vector<int32_t> tokens;
    for (int i = 0; i < 50; i++) {
      std::vector<float> row(kTestVocab);
      for (int t = 0; t < kTestVocab; t++) row[t] = static_cast<float>((t * 37 + i * 11) % 17) / 4.0f;
      tokens.push_back(out.OnLogits(row.data(), false).token);
    }
    return tokens;
  };
  EXPECT_EQ(run(42), run(42));
  EXPECT_NE(run(42), run(43));
}

}  // namespace
}  // namespace fpgaserve
