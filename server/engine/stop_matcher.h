// StopMatcher: finds the request's stop strings in a stream of text deltas.
//
// The text of a sequence arrives one token's delta at a time, and a stop string may span several deltas
// ("Hel" + "lo" for "Hello"). Text that may still turn out to be the start of a stop string is held back;
// everything before it is released at once, so a client sees text as soon as it is certain not to belong
// to a stop string. When a stop string appears, the text before its first occurrence is released and the
// rest (the stop string and anything after it) is dropped: the client never sees a stop string.
//
// Among several stop strings the earliest occurrence in the text wins (for two starting at the same
// place, which one matched does not matter: the text before it is the same). Empty stop strings are
// ignored.
//
// UTF-8: the deltas come from StreamDecoder and are whole characters; the matcher releases text only up
// to a character boundary, so what it returns is whole characters too (a held-back suffix never starts
// inside a character, even if a stop string were not valid UTF-8).
//
// Threading: one per sequence; not thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace fpgaserve {

class StopMatcher {
 public:
  explicit StopMatcher(std::vector<std::string> stops);

  struct Output {
    std::string text;      // safe to emit now (may be empty)
    bool matched = false;  // a stop string was found: `text` is all that remains before it
  };

  // Adds a delta. After a match the matcher is finished: further Feed() calls return nothing.
  Output Feed(std::string_view delta);

  // At the end of the sequence (EOS, length): the held-back text, which is not a stop string. The
  // matcher is finished afterwards.
  std::string Flush();

  // Bytes currently held back.
  size_t held_bytes() const { return held_.size(); }
  bool matched() const { return matched_; }

 private:
  // Length of the longest suffix of held_ that is a proper prefix of some stop string.
  size_t LongestPartialMatch() const;

  std::vector<std::string> stops_;  // non-empty ones only
  size_t max_stop_len_ = 0;
  std::string held_;       // text received but not released: a possible start of a stop string
  bool matched_ = false;   // a stop string was found
  bool finished_ = false;  // matched or flushed: Feed() returns nothing more
};

}  // namespace fpgaserve
