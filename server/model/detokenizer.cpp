#include "server/model/detokenizer.h"

#include "server/model/utf8.h"

namespace fpgaserve {

std::string StreamDecoder::Push(int token) {
  const std::string bytes = tokenizer_->Decode(prev_token_, token);
  prev_token_ = token;
  return PushBytes(bytes);
}

std::string StreamDecoder::PushBytes(std::string_view bytes) {
  pending_.append(bytes);
  std::string out;
  size_t i = 0;
  while (i < pending_.size()) {
    const Utf8Scan scan = ScanUtf8(std::string_view(pending_).substr(i));
    if (scan.kind == Utf8Kind::kIncomplete) break;
    if (scan.kind == Utf8Kind::kComplete) {
      out.append(pending_, i, scan.length);
    } else {
      out.append(kReplacementChar);
    }
    i += scan.length;
  }
  pending_.erase(0, i);
  return out;
}

std::string StreamDecoder::Flush() {
  // What is held back is a valid prefix of one character, so it is a single maximal ill-formed subpart.
  std::string out = pending_.empty() ? std::string() : std::string(kReplacementChar);
  pending_.clear();
  return out;
}

}  // namespace fpgaserve
