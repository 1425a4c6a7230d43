// StreamDecoder: token ids -> UTF-8 text deltas that never split a character.
//
// Byte-fallback tokens carry single bytes, so a character (an emoji, a CJK ideograph without its own piece)
// can arrive over several tokens. The server sends each delta to a client (SSE) and matches stop strings on
// it, so a delta must be whole, valid UTF-8: bytes that may still become a character are held back until it
// is complete; bytes that can no longer be valid UTF-8 become U+FFFD as soon as that is certain, one U+FFFD per
// maximal ill-formed subpart (Unicode's recommended practice, as browsers decode). So every Push() and Flush()
// result is valid UTF-8, and for tokens whose bytes are valid UTF-8 the concatenation of all results equals
// Tokenizer::Decode of the same tokens (with the same token before the first).
//
// Thread-safety: one StreamDecoder per sequence; not safe for concurrent use. The Tokenizer it reads is
// shared and immutable.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "server/model/tokenizer.h"

namespace fpgaserve {

class StreamDecoder {
 public:
  // `tokenizer` is borrowed and must outlive the decoder. `prev_token` is the token before the first one to
  // be pushed (normally the last prompt token); it decides whether the first piece keeps its leading space
  // (Tokenizer::Decode, SentencePiece only). Without it, BOS: the first pushed token starts the text.
  explicit StreamDecoder(const Tokenizer& tokenizer, int prev_token)
      : tokenizer_(&tokenizer), prev_token_(prev_token) {}
  explicit StreamDecoder(const Tokenizer& tokenizer) : StreamDecoder(tokenizer, tokenizer.bos_id()) {}

  // The text that `token` completes, possibly "" (a byte held back, BOS, EOS, an invalid id).
  std::string Push(int token);
  // The same for raw bytes; Push(token) is PushBytes(Tokenizer::Decode(prev, token)).
  std::string PushBytes(std::string_view bytes);
  // At the end of a sequence: the held-back bytes of an unfinished character as one U+FFFD, or "". The
  // decoder may be used again afterwards; it still remembers the last token pushed.
  std::string Flush();

  // How many bytes are held back (0..3): a proper prefix of a valid UTF-8 character.
  size_t pending_bytes() const { return pending_.size(); }

 private:
  const Tokenizer* tokenizer_;
  int prev_token_;
  std::string pending_;
};

}  // namespace fpgaserve
