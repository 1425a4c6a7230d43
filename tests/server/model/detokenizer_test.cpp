#include "server/model/detokenizer.h"

#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/test_support.h"

namespace fpgaserve {
namespace {

constexpr char kFffd[] = "\xEF\xBF\xBD";

// Whether `s` is well-formed UTF-8, written independently of the decoder (from the code point's value, not
// from table 3-7), so the two can check each other.
bool IsValidUtf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    const auto b0 = static_cast<uint8_t>(s[i]);
    size_t n;
    uint32_t cp;
    if (b0 < 0x80) {
      n = 1;
      cp = b0;
    } else if ((b0 & 0xE0) == 0xC0) {
      n = 2;
      cp = b0 & 0x1F;
    } else if ((b0 & 0xF0) == 0xE0) {
      n = 3;
      cp = b0 & 0x0F;
    } else if ((b0 & 0xF8) == 0xF0) {
      n = 4;
      cp = b0 & 0x07;
    } else {
      return false;
    }
    if (i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      const auto b = static_cast<uint8_t>(s[i + k]);
      if ((b & 0xC0) != 0x80) return false;
      cp = cp << 6 | (b & 0x3F);
    }
    const uint32_t min_for_length[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_for_length[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n;
  }
  return true;
}

// <unk>, BOS, EOS, the 256 byte tokens (ids 3..258), then a few pieces; written like llama2.c's export.
std::string SmallVocabFile(std::vector<std::string>* pieces_out) {
  std::vector<std::string> pieces = {"<unk>", "\n<s>\n", "\n</s>\n"};
  for (int b = 0; b < 256; ++b) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    pieces.push_back(buf);
  }
  for (const char* p : {" ", "a", "b", " a", "中", "文", "中文", "é", " é", "!", "😀"}) pieces.push_back(p);
  std::string out;
  auto put_u32 = [&](uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  };
  put_u32(8);
  for (size_t id = 0; id < pieces.size(); ++id) {
    const float score = id < 259 ? 0.0f : -static_cast<float>(id);
    uint32_t bits;
    std::memcpy(&bits, &score, 4);
    put_u32(bits);
    put_u32(static_cast<uint32_t>(pieces[id].size()));
    out += pieces[id];
  }
  *pieces_out = pieces;
  return out;
}

class StreamDecoderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<std::string> pieces;
    const std::string path = dir_.file("tokenizer.bin");
    ASSERT_TRUE(testing::WriteFile(path, SmallVocabFile(&pieces)));
    Result<Tokenizer> r = Tokenizer::Load(path, static_cast<int>(pieces.size()));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    tok_ = std::make_unique<Tokenizer>(std::move(r).value());
  }
  int Id(const std::string& piece) const { return tok_->PieceToId(piece); }
  static int Byte(int b) { return 3 + b; }

  // Pushes every token; returns the deltas, Flush() last.
  std::vector<std::string> Stream(const std::vector<int>& tokens, int prev_token = 1) const {
    StreamDecoder decoder(*tok_, prev_token);
    std::vector<std::string> deltas;
    deltas.reserve(tokens.size() + 1);
    for (int t : tokens) deltas.push_back(decoder.Push(t));
    deltas.push_back(decoder.Flush());
    return deltas;
  }

  testing::TempDir dir_;
  std::unique_ptr<Tokenizer> tok_;
};

TEST_F(StreamDecoderTest, HoldsAnEmojiUntilItsLastByteToken) {
  // U+1F62E is not a piece of this vocabulary: Encode spells it with four byte tokens.
  const std::vector<int> tokens = tok_->Encode("😮", false, false);
  ASSERT_EQ(tokens, (std::vector<int>{Id(" "), Byte(0xF0), Byte(0x9F), Byte(0x98), Byte(0xAE)}));
  StreamDecoder decoder(*tok_);
  EXPECT_EQ(decoder.Push(tokens[0]), "");  // the dummy-prefix space after BOS
  EXPECT_EQ(decoder.Push(tokens[1]), "");
  EXPECT_EQ(decoder.pending_bytes(), 1u);
  EXPECT_EQ(decoder.Push(tokens[2]), "");
  EXPECT_EQ(decoder.Push(tokens[3]), "");
  EXPECT_EQ(decoder.pending_bytes(), 3u);
  EXPECT_EQ(decoder.Push(tokens[4]), "😮");
  EXPECT_EQ(decoder.pending_bytes(), 0u);
  EXPECT_EQ(decoder.Flush(), "");
}

TEST_F(StreamDecoderTest, EmitsCjkPiecesAtOnceAndByteSpelledCjkWhenComplete) {
  EXPECT_EQ(Stream({Id("中"), Id("文"), Id("中文")}), (std::vector<std::string>{"中", "文", "中文", ""}));
  // U+754C is not a piece: E7 95 8C.
  EXPECT_EQ(Stream({Id("a"), Byte(0xE7), Byte(0x95), Byte(0x8C), Id("!")}),
            (std::vector<std::string>{"a", "", "", "界", "!", ""}));
}

TEST_F(StreamDecoderTest, ReplacesInvalidBytesAsSoonAsTheyAreCertain) {
  // A byte that never occurs in UTF-8, and a stray continuation byte: replaced at once.
  EXPECT_EQ(Stream({Byte(0xFF), Byte(0x80), Id("a")}), (std::vector<std::string>{kFffd, kFffd, "a", ""}));
  // A lead byte followed by an ASCII letter: the lead alone is replaced, the letter kept.
  EXPECT_EQ(Stream({Byte(0xC3), Id("a")}), (std::vector<std::string>{"", std::string(kFffd) + "a", ""}));
  // E0 80 is an overlong form, ED A0 a surrogate, F4 90 past U+10FFFF: each known bad at its second byte.
  EXPECT_EQ(Stream({Byte(0xE0), Byte(0x80)}), (std::vector<std::string>{"", std::string(kFffd) + kFffd, ""}));
  EXPECT_EQ(Stream({Byte(0xED), Byte(0xA0)}), (std::vector<std::string>{"", std::string(kFffd) + kFffd, ""}));
  EXPECT_EQ(Stream({Byte(0xF4), Byte(0x90)}), (std::vector<std::string>{"", std::string(kFffd) + kFffd, ""}));
  // A valid 3-byte prefix cut by a new character: one U+FFFD for the prefix (its maximal subpart).
  EXPECT_EQ(Stream({Byte(0xF0), Byte(0x9F), Byte(0x98), Id("中")}),
            (std::vector<std::string>{"", "", "", std::string(kFffd) + "中", ""}));
}

TEST_F(StreamDecoderTest, FlushReplacesAnUnfinishedCharacterOnce) {
  StreamDecoder decoder(*tok_);
  EXPECT_EQ(decoder.Push(Id("a")), "a");
  EXPECT_EQ(decoder.Push(Byte(0xF0)), "");
  EXPECT_EQ(decoder.Push(Byte(0x9F)), "");
  EXPECT_EQ(decoder.Flush(), kFffd);
  EXPECT_EQ(decoder.pending_bytes(), 0u);
  EXPECT_EQ(decoder.Flush(), "");
  // Still usable, and it remembers the last token: " a" keeps its space.
  EXPECT_EQ(decoder.Push(Id(" a")), " a");
}

TEST_F(StreamDecoderTest, PushBytesFollowsTheMaximalSubpartRule) {
  // Unicode's table 3-8 example: 61 F1 80 80 E1 80 C2 62 80 63 80 BF 64 -> a FFFD FFFD FFFD b FFFD c FFFD FFFD d.
  StreamDecoder decoder(*tok_);
  EXPECT_EQ(decoder.PushBytes("\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64"),
            std::string("a") + kFffd + kFffd + kFffd + "b" + kFffd + "c" + kFffd + kFffd + "d");
  // F0 80 80: F0 needs 90..BF next, so three replacements.
  EXPECT_EQ(decoder.PushBytes("\xF0\x80\x80"), std::string(kFffd) + kFffd + kFffd);
  EXPECT_EQ(decoder.PushBytes(""), "");
  EXPECT_EQ(decoder.Flush(), "");
}

TEST_F(StreamDecoderTest, LeadingSpaceDependsOnTheTokenBefore) {
  // From the start of a text (after BOS, the default) the dummy-prefix space goes; after a prompt token it stays.
  EXPECT_EQ(Stream({Id(" a"), Id(" a")}), (std::vector<std::string>{"a", " a", ""}));
  EXPECT_EQ(Stream({Id(" a"), Id(" a")}, Id("b")), (std::vector<std::string>{" a", " a", ""}));
  EXPECT_EQ(Stream({1, Id(" é"), 2}), (std::vector<std::string>{"", "é", "", ""}));
  EXPECT_EQ(Stream({-1, 100000, 0}), (std::vector<std::string>{"", "", kFffd, ""}));
}

TEST_F(StreamDecoderTest, DeltasConcatenateToTheFullDecode) {
  const std::vector<std::string> alphabet = {"a", "b",        " ", "中", "文", "界", "é", "è",    "😀",
                                             "😮", "👍🏽", "!", "\n", "ß",  "я",  "€", "\x7F", "𝄞"};
  std::mt19937 rng(5);
  std::uniform_int_distribution<size_t> pick(0, alphabet.size() - 1);
  std::uniform_int_distribution<int> length(0, 30);
  for (int i = 0; i < 2000; ++i) {
    std::string text;
    for (int n = length(rng); n > 0; --n) text += alphabet[pick(rng)];
    const std::vector<int> tokens = tok_->Encode(text, i % 2 == 0, i % 3 == 0);
    std::string streamed;
    for (const std::string& delta : Stream(tokens)) {
      ASSERT_TRUE(IsValidUtf8(delta)) << "text '" << text << "'";
      streamed += delta;
    }
    ASSERT_EQ(streamed, tok_->Decode(tokens));
    ASSERT_EQ(streamed, text);
  }
}

TEST_F(StreamDecoderTest, RandomBytesAlwaysYieldValidUtf8) {
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int> length(0, 12);
  for (int i = 0; i < 3000; ++i) {
    StreamDecoder decoder(*tok_);
    std::string all;
    std::string streamed;
    // Bias towards UTF-8-looking bytes so that partial and complete sequences occur often.
    for (int n = length(rng); n > 0; --n) {
      int b = byte(rng);
      if (b < 96) b = 0x80 + (b % 64);
      all.push_back(static_cast<char>(b));
      streamed += decoder.Push(Byte(b));
      EXPECT_LE(decoder.pending_bytes(), 3u);
    }
    streamed += decoder.Flush();
    ASSERT_TRUE(IsValidUtf8(streamed)) << "input of " << all.size() << " bytes";
    // Valid input passes through unchanged.
    if (IsValidUtf8(all)) {
      ASSERT_EQ(streamed, all);
    }
  }
}

TEST(StreamDecoderLlamaTest, MatchesDecodeOnTheRealVocabulary) {
  const std::string path = testing::SharedDataFile("llama2-tokenizer.bin");
  if (path.empty()) GTEST_SKIP() << "../shared/data/llama2-tokenizer.bin is absent";
  Result<Tokenizer> r = Tokenizer::Load(path, 32000);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const std::string text = "Emoji 😀👍🏽 and 𝄞, 日本語のテキスト, Ελληνικά, café — done.\n";
  const std::vector<int> tokens = r->Encode(text, true, false);
  StreamDecoder decoder(*r);
  std::string streamed;
  int held = 0;
  for (int t : tokens) {
    const std::string delta = decoder.Push(t);
    ASSERT_TRUE(IsValidUtf8(delta));
    if (delta.empty()) ++held;
    streamed += delta;
  }
  streamed += decoder.Flush();
  EXPECT_EQ(streamed, text);
  EXPECT_GT(held, 3);  // the emoji come as byte tokens, held until complete
}

}  // namespace
}  // namespace fpgaserve
