#include "server/engine/stop_matcher.h"

#include <algorithm>

namespace fpgaserve {
namespace {

bool IsContinuationByte(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

}  // namespace

StopMatcher::StopMatcher(std::vector<std::string> stops) {
  for (std::string& s : stops) {
    if (s.empty()) continue;
    max_stop_len_ = std::max(max_stop_len_, s.size());
    stops_.push_back(std::move(s));
  }
}

StopMatcher::Output StopMatcher::Feed(std::string_view delta) {
  Output out;
  if (finished_) return out;
  held_.append(delta);
  if (stops_.empty()) {
    out.text.swap(held_);
    return out;
  }
  // held_ never contains a whole stop string (it would have matched when it arrived), so searching all of
  // it finds only occurrences that end in the new delta; the earliest start wins.
  size_t first = std::string::npos;
  for (const std::string& stop : stops_) first = std::min(first, held_.find(stop));
  if (first != std::string::npos) {
    matched_ = true;
    finished_ = true;
    out.matched = true;
    out.text = held_.substr(0, first);
    held_.clear();
    return out;
  }
  size_t keep = LongestPartialMatch();
  size_t release = held_.size() - keep;
  // Never split a character, whatever the stop strings are.
  while (release > 0 && release < held_.size() && IsContinuationByte(held_[release])) release--;
  out.text = held_.substr(0, release);
  held_.erase(0, release);
  return out;
}

std::string StopMatcher::Flush() {
  std::string rest;
  rest.swap(held_);
  finished_ = true;
  return rest;
}

size_t StopMatcher::LongestPartialMatch() const {
  const size_t longest = std::min(held_.size(), max_stop_len_ - 1);
  for (size_t k = longest; k > 0; k--) {
    const std::string_view suffix = std::string_view(held_).substr(held_.size() - k);
    for (const std::string& stop : stops_) {
      if (stop.size() > k && std::string_view(stop).substr(0, k) == suffix) return k;
    }
  }
  return 0;
}

}  // namespace fpgaserve
