// The load generator's server-sent-events parser: the stream fed whole and fed in pieces must give the same
// events and leave the same bytes pending (a server's TCP segments may cut a stream anywhere). Input: byte 0
// is the number of cuts (up to 15), then one byte per cut (the length of that piece), then the stream.
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "server/bench/sse_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fpgaserve;
  std::string_view in = fuzz::AsText(data, size);
  std::vector<size_t> cuts(fuzz::TakeByte(in) % 16);
  for (size_t& c : cuts) c = fuzz::TakeByte(in);

  SseParser whole;
  std::vector<std::string> whole_events;
  whole.Feed(in, whole_events);
  const size_t whole_pending = whole.pending_bytes();

  SseParser split;
  std::vector<std::string> split_events;
  std::string_view rest = in;
  for (size_t c : cuts) {
    const std::string_view piece = rest.substr(0, c);
    split.Feed(piece, split_events);
    rest.remove_prefix(piece.size());
  }
  split.Feed(rest, split_events);
  FUZZ_CHECK(split_events == whole_events);
  FUZZ_CHECK(split.pending_bytes() == whole_pending);

  whole.Finish(whole_events);
  split.Finish(split_events);
  FUZZ_CHECK(split_events == whole_events);
  return 0;
}
