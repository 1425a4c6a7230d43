// BodySource: where a streamed answer's body comes from (Exchange::Stream). The transport pulls; the source
// never blocks. Called only on the connection's strand (one call at a time, never concurrently with itself),
// from Stream until Pull returns kEnd or the connection closes; the transport then drops its reference.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace fpgaserve::net {

enum class PullState {
  kMore,  // pull again now (there may be more bytes ready)
  kWait,  // nothing more now: pull again at wake_at, or earlier on Exchange::Wake()
  kEnd,   // the body is complete; the transport writes the last chunk
};

struct PullResult {
  PullState state = PullState::kEnd;
  // kWait only: when to pull again without a Wake (a keep-alive comment is due, say); time_point::max(): only
  // on Wake().
  std::chrono::steady_clock::time_point wake_at = std::chrono::steady_clock::time_point::max();
};

class BodySource {
 public:
  virtual ~BodySource() = default;
  // Appends at most `max_bytes` bytes of the body that are available now to *out (none is fine) and says what
  // next. `now` is the transport's steady clock. The bytes of one call are written as one chunk. Must not
  // block, and must not call back into the Exchange synchronously except Wake().
  virtual PullResult Pull(std::chrono::steady_clock::time_point now, size_t max_bytes, std::string* out) = 0;
};

}  // namespace fpgaserve::net
