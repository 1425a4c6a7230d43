// StopMatcher: what is released, what is held back, and what is never emitted.
#include "server/engine/stop_matcher.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace fpgaserve {
namespace {

// Feeds the deltas in order; returns everything released (Flush included when nothing matched) and
// whether a stop string matched.
struct Fed {
  std::vector<std::string> released;  // per Feed
  std::string all;
  bool matched = false;
};
Fed FeedAll(std::vector<std::string> stops, const std::vector<std::string>& deltas) {
  StopMatcher m(std::move(stops));
  Fed r;
  for (const std::string& d : deltas) {
    StopMatcher::Output out = m.Feed(d);
    r.released.push_back(out.text);
    r.all += out.text;
    if (out.matched) {
      r.matched = true;
      break;
    }
  }
  if (!r.matched) r.all += m.Flush();
  return r;
}

bool IsWholeUtf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    size_t n = b < 0x80 ? 1 : (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : (b & 0xF8) == 0xF0 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; k++) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

TEST(StopMatcher, WithoutStopStringsReleasesEverythingAtOnce) {
  const Fed r = FeedAll({}, {"Hello", " wor", "ld"});
  EXPECT_EQ(r.released, (std::vector<std::string>{"Hello", " wor", "ld"}));
  EXPECT_FALSE(r.matched);
}

TEST(StopMatcher, MatchesAcrossTokenBoundariesAndDropsTheStopString) {
  const Fed r = FeedAll({"lo wo"}, {"Hel", "lo", " w", "orld"});
  EXPECT_TRUE(r.matched);
  EXPECT_EQ(r.all, "Hel");
  // "l", "lo", "lo w" could be the start of "lo wo": held back, not released.
  EXPECT_EQ(r.released, (std::vector<std::string>{"He", "l", "", ""}));
}

TEST(StopMatcher, ReleasesHeldTextOnceItCannotStartAStopString) {
  const Fed r = FeedAll({"cd"}, {"abc", "x", "c", "c", "d"});
  EXPECT_EQ(r.released, (std::vector<std::string>{"ab", "cx", "", "c", ""}));
  EXPECT_TRUE(r.matched);
  EXPECT_EQ(r.all, "abcxc");
}

TEST(StopMatcher, EarliestOfSeveralStopStringsWins) {
  // "bca" starts before "xy" although "xy" is listed first and "bca" completes later in the same delta.
  const Fed r = FeedAll({"xy", "bca"}, {"ab", "cabxyz"});
  EXPECT_TRUE(r.matched);
  EXPECT_EQ(r.all, "a");
}

TEST(StopMatcher, OverlappingPrefixesHoldTheLongestPossibleStart) {
  // In "aaab" with stop "aab", the held "aa" must slide: the match starts at the second 'a'.
  const Fed r = FeedAll({"aab"}, {"a", "a", "a", "b"});
  EXPECT_EQ(r.released, (std::vector<std::string>{"", "", "a", ""}));
  EXPECT_TRUE(r.matched);
  EXPECT_EQ(r.all, "a");
}

TEST(StopMatcher, StopStringThatIsAPrefixOfAnotherMatchesFirst) {
  const Fed r = FeedAll({"ab", "abc"}, {"xa", "bc"});
  EXPECT_TRUE(r.matched);
  EXPECT_EQ(r.all, "x");
}

TEST(StopMatcher, MatchAtTheVeryStartReleasesNothing) {
  const Fed r = FeedAll({"Hi"}, {"Hi there"});
  EXPECT_TRUE(r.matched);
  EXPECT_EQ(r.all, "");
}

TEST(StopMatcher, NoFalseHoldsAtTheEnd) {
  // Text ending in a partial stop string is all released by Flush; text ending elsewhere is not held.
  StopMatcher m({"world"});
  EXPECT_EQ(m.Feed("hello wor").text, "hello ");
  EXPECT_EQ(m.held_bytes(), 3u);
  EXPECT_EQ(m.Flush(), "wor");
  StopMatcher n({"world"});
  EXPECT_EQ(n.Feed("hello x").text, "hello x");
  EXPECT_EQ(n.held_bytes(), 0u);
  EXPECT_EQ(n.Flush(), "");
}

TEST(StopMatcher, NothingAfterAMatch) {
  StopMatcher m({"."});
  EXPECT_TRUE(m.Feed("end. more").matched);
  const StopMatcher::Output after = m.Feed("text");
  EXPECT_FALSE(after.matched);
  EXPECT_EQ(after.text, "");
  EXPECT_EQ(m.Flush(), "");
}

TEST(StopMatcher, EmptyStopStringsAreIgnored) {
  const Fed r = FeedAll({"", "z"}, {"abc"});
  EXPECT_FALSE(r.matched);
  EXPECT_EQ(r.released[0], "abc");
}

TEST(StopMatcher, MultiByteStopStringsMatchAcrossCharacters) {
  const Fed r = FeedAll({"中文!"}, {"说", "中", "文", "!", "x"});
  EXPECT_TRUE(r.matched);
  EXPECT_EQ(r.all, "说");
  EXPECT_EQ(r.released, (std::vector<std::string>{"说", "", "", ""}));
}

TEST(StopMatcher, CharactersSharingALeadByteAreNotConfused) {
  // "è" (C3 A8) and "é" (C3 A9) share their first byte; "è" is not a start of "é!".
  const Fed r = FeedAll({"é!"}, {"caf", "è", "!", "é", "?"});
  EXPECT_FALSE(r.matched);
  EXPECT_EQ(r.released, (std::vector<std::string>{"caf", "è", "!", "", "é?"}));
}

TEST(StopMatcher, NeverSplitsACharacterEvenForAStopStringThatIsNotUtf8) {
  // A stop string starting with a continuation byte would hold half of "é"; the matcher holds all of it.
  const Fed r = FeedAll({"\xA9x"}, {"é", "y", "ü"});
  for (const std::string& s : r.released) EXPECT_TRUE(IsWholeUtf8(s)) << s;
  EXPECT_EQ(r.all, "éyü");
}

}  // namespace
}  // namespace fpgaserve
