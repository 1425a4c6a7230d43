#include "server/bench/sse_parser.h"

#include <gtest/gtest.h>

namespace fpgaserve {
namespace {

const std::string kStream =
    "data: {\"choices\":[{\"text\":\"a\"}]}\r\n\r\n"
    ": a comment line\n\n"
    "event: message\ndata: {\"choices\":[{\"text\":\"b\"}]}\n\n"
    "data:{\"x\":1}\r\r"
    "data: first\ndata: second\n\n"
    "data: [DONE]\n\n";
const std::vector<std::string> kEvents = {"{\"choices\":[{\"text\":\"a\"}]}", "{\"choices\":[{\"text\":\"b\"}]}",
                                          "{\"x\":1}", "first\nsecond", "[DONE]"};

TEST(SseParserTest, ParsesAWholeStreamInOneRead) {
  SseParser parser;
  std::vector<std::string> events;
  parser.Feed(kStream, events);
  EXPECT_EQ(events, kEvents);
  EXPECT_EQ(parser.pending_bytes(), 0u);
}

TEST(SseParserTest, SameEventsWhateverTheSplitIncludingInsideCrLf) {
  // Every split point, then every 2-, 3- and 7-byte chunking: "\r" and "\n" of one terminator land in
  // different reads, as do "data" and ":".
  for (size_t cut = 0; cut <= kStream.size(); cut++) {
    SseParser parser;
    std::vector<std::string> events;
    parser.Feed(std::string_view(kStream).substr(0, cut), events);
    parser.Feed(std::string_view(kStream).substr(cut), events);
    ASSERT_EQ(events, kEvents) << "split at " << cut;
  }
  for (size_t step : {1u, 2u, 3u, 7u}) {
    SseParser parser;
    std::vector<std::string> events;
    for (size_t i = 0; i < kStream.size(); i += step) parser.Feed(std::string_view(kStream).substr(i, step), events);
    ASSERT_EQ(events, kEvents) << "chunks of " << step;
  }
}

TEST(SseParserTest, IncompleteEventIsHeldUntilItsBlankLine) {
  SseParser parser;
  std::vector<std::string> events;
  parser.Feed("data: {\"partial\":", events);
  EXPECT_TRUE(events.empty());
  EXPECT_GT(parser.pending_bytes(), 0u);
  parser.Feed("1}\n", events);
  EXPECT_TRUE(events.empty());
  parser.Feed("\n", events);
  EXPECT_EQ(events, std::vector<std::string>{"{\"partial\":1}"});
}

TEST(SseParserTest, FinishReturnsAnEventMissingItsFinalBlankLine) {
  SseParser parser;
  std::vector<std::string> events;
  parser.Feed("data: [DONE]", events);
  EXPECT_TRUE(events.empty());
  parser.Finish(events);
  EXPECT_EQ(events, std::vector<std::string>{"[DONE]"});
}

}  // namespace
}  // namespace fpgaserve
