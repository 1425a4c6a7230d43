#include "server/model/pretokenizer.h"

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace fpgaserve {
namespace {

std::vector<std::string> Split(const std::string& name, const std::string& text) {
  auto pre = Pretokenizer::Create(name);
  EXPECT_TRUE(pre.ok()) << pre.status().ToString();
  std::vector<std::string_view> views;
  pre.value()->Split(text, &views);
  return {views.begin(), views.end()};
}

TEST(PretokenizerTest, Llama3SplitsContractionsDigitTriplesAndWhitespaceRuns) {
  EXPECT_EQ(Split("llama-bpe", "I'LL we've 1234567  x\r\n\n  y!!!\n"),
            (std::vector<std::string>{"I", "'LL", " we", "'ve", " ", "123", "456", "7", " ", " x", "\r\n\n", " ", " y",
                                      "!!!\n"}));
  // Letters of any script; a non-letter prefix joins the word; U+3000 (ideographic space) is whitespace.
  EXPECT_EQ(Split("llama-bpe", "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82,\xe3\x80\x80\xe4\xb8\xad\xe6\x96\x87"),
            (std::vector<std::string>{"\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82", ",",
                                      "\xe3\x80\x80\xe4\xb8\xad\xe6\x96\x87"}));
}

TEST(PretokenizerTest, SmolLmIsolatesEveryDigitAndKeepsGpt2Contractions) {
  EXPECT_EQ(Split("smollm", "I'LL we've 1234567  x"),
            (std::vector<std::string>{"I", "'", "LL", " we", "'ve", " ", "1", "2", "3", "4", "5", "6", "7", " ",
                                      " x"}));
}

TEST(PretokenizerTest, PiecesCoverInvalidUtf8AndUnknownNamesAreRefused) {
  const std::string bad = "ab\xff\xfe cd";
  std::string joined;
  for (const std::string& p : Split("llama-bpe", bad)) joined += p;
  EXPECT_EQ(joined, bad);
  auto unknown = Pretokenizer::Create("qwen2");
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.status().message(), ::testing::HasSubstr("\"qwen2\" is not supported"));
}

}  // namespace
}  // namespace fpgaserve
