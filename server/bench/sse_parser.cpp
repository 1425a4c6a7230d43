#include "server/bench/sse_parser.h"

namespace fpgaserve {

void SseParser::Feed(std::string_view bytes, std::vector<std::string>& events) {
  for (char c : bytes) {
    if (after_cr_) {
      after_cr_ = false;
      if (c == '\n') continue;  // the second half of a "\r\n" split or not across reads
    }
    if (c == '\r' || c == '\n') {
      after_cr_ = (c == '\r');
      EndLine(events);
    } else {
      line_.push_back(c);
    }
  }
}

void SseParser::Finish(std::vector<std::string>& events) {
  if (!line_.empty()) EndLine(events);
  if (has_data_) EndLine(events);  // the blank line the server left out
}

void SseParser::EndLine(std::vector<std::string>& events) {
  if (line_.empty()) {  // a blank line dispatches the event
    if (has_data_) events.push_back(std::move(data_));
    data_.clear();
    has_data_ = false;
    return;
  }
  std::string_view line(line_);
  const size_t colon = line.find(':');
  const std::string_view field = line.substr(0, colon);
  std::string_view value = colon == std::string_view::npos ? std::string_view() : line.substr(colon + 1);
  if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  if (field == "data") {  // a comment has an empty field name and is skipped with the rest
    if (has_data_) data_.push_back('\n');
    data_.append(value);
    has_data_ = true;
  }
  line_.clear();
}

}  // namespace fpgaserve
