// Incremental parser for a text/event-stream body (the OpenAI streaming format).
//
// The body arrives in reads of arbitrary size: a line, even a "\r\n" pair, may be split across two reads.
// Feed() keeps the unfinished tail and returns the data of every event completed so far. Only "data:"
// fields matter to OpenAI streams; comments (":") and other fields (event, id, retry) are skipped.
// An event is completed by a blank line; its data lines are joined with "\n" as the SSE spec says.
//
// Not thread-safe: one parser per response.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace fpgaserve {

class SseParser {
 public:
  // Appends the events completed by `bytes` to `events` (the data of each, e.g. "{...}" or "[DONE]").
  void Feed(std::string_view bytes, std::vector<std::string>& events);

  // Bytes held back because their line or event is not complete yet; a stream that ends with this
  // non-empty was cut short (a server that omits the final blank line is tolerated by Finish()).
  size_t pending_bytes() const { return line_.size() + data_.size(); }

  // At the end of the body: an event whose data lines were not followed by a blank line is returned too.
  void Finish(std::vector<std::string>& events);

 private:
  void EndLine(std::vector<std::string>& events);

  std::string line_;       // the current line, without its terminator
  std::string data_;       // data lines of the current event, joined with "\n"
  bool has_data_ = false;  // the current event has at least one data line (which may be empty)
  bool after_cr_ = false;  // the last byte was '\r': a following '\n' belongs to the same terminator
};

}  // namespace fpgaserve
