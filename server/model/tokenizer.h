// Tokenizer: the llama2.c `tokenizer.bin` vocabulary (or a GGUF file's SentencePiece vocabulary, see
// gguf_tokenizer.h), SentencePiece-style BPE encoding, piece decoding.
//
// File format (little-endian, as llama2.c's export writes it):
//   uint32 max_token_length
//   vocab_size times: float32 score, uint32 len, `len` bytes of piece text
// vocab_size is not stored in the file: it comes from the model checkpoint. Bytes after the vocab_size-th
// token are ignored, as llama2.c ignores them.
//
// Conventions of the Llama vocabulary that this class relies on:
//   id 0 is <unk>, id 1 BOS (piece "\n<s>\n"), id 2 EOS (piece "\n</s>\n");
//   a piece spelled exactly "<0xXX>" (two upper-case hex digits) is the byte-fallback token for byte 0xXX;
//   a leading space is a literal ' ' in the piece text (the exporter already replaced SentencePiece's U+2581).
//
// Encoding follows llama2.c's `encode` and gives the same tokens for every valid UTF-8 text with the Llama
// vocabulary; it differs only where llama2.c is undefined or unsafe (see Encode).
//
// Thread-safety: a Tokenizer is immutable once loaded; all const methods may run concurrently. It is cheap to
// move and safe to copy.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "fpga/status.h"

namespace fpgaserve {

class Tokenizer {
 public:
  static constexpr int kUnkId = 0;
  static constexpr int kBosId = 1;
  static constexpr int kEosId = 2;
  // No real piece is near this long (Llama's longest is 27 bytes); a larger length means a corrupt file.
  static constexpr uint32_t kMaxPieceBytes = 64 * 1024;

  // Reads `path` and builds the piece index. Returns NotFound when the file cannot be opened, and
  // InvalidArgument (the message names the file, the token and the byte offset) when vocab_size <= 0, when
  // the file ends before vocab_size tokens (anywhere: header, score, length, bytes), when a piece is longer
  // than max_token_length or kMaxPieceBytes, or when a score is not finite. Never reads past the end.
  static Result<Tokenizer> Load(const std::string& path, int vocab_size);

  // A vocabulary given as its pieces and their scores (one per piece), as a GGUF file carries it (see
  // gguf_tokenizer.h). The conventions above hold: id 0 <unk>, 1 BOS, 2 EOS, spaces as ' '.
  // max_token_length() is the longest piece. InvalidArgument, the message starting with `source`, when
  // there are fewer than 3 pieces, the counts differ, a piece is longer than kMaxPieceBytes or a score is
  // not finite.
  static Result<Tokenizer> FromPieces(std::vector<std::string> pieces, std::vector<float> scores,
                                      const std::string& source);

  // Text -> token ids: BOS if `bos`; then, when `text` is non-empty, the BPE of " " + text (the dummy prefix
  // SentencePiece adds so that the first word is spelled like the others); then EOS if `eos`.
  // BPE: each UTF-8 character becomes its piece, or when the vocabulary has none, one byte token per byte
  // (a single <unk> if some byte has no byte token). Then, repeatedly, the adjacent pair whose concatenation
  // is a piece of the highest score is merged; among equal scores the leftmost pair wins (llama2.c's loop
  // keeps the first best). Runs in O(n log n), so a long prompt is cheap.
  // Differences from llama2.c, none of which changes a result with the Llama vocabulary:
  //   - bytes that do not form valid UTF-8 are units of one byte (llama2.c groups a lead byte with up to three
  //     following bytes without checking them); a NUL byte is a character like any other;
  //   - merges never produce, or start from, <unk>, BOS, EOS or a byte token (so typing "<0x41>" or "\n<s>\n"
  //     cannot inject a special token, as in SentencePiece);
  //   - any piece score takes part in merges (llama2.c skips scores <= -1e10).
  // Never fails: every byte sequence has an encoding.
  std::vector<int> Encode(std::string_view text, bool bos, bool eos) const;

  // The bytes one token stands for, given the token before it (llama2.c's `decode`):
  //   - a byte token "<0xXX>" is the raw byte 0xXX (so the result may be part of a UTF-8 character);
  //   - BOS and EOS are "" (they mark boundaries, not text); <unk> is U+FFFD;
  //   - otherwise the piece text, without its leading ' ' when prev_token is BOS (that space is the dummy
  //     prefix Encode added).
  // An id outside [0, vocab_size()) yields "".
  std::string Decode(int prev_token, int token) const;

  // The bytes of a whole sequence: Decode(prev, token) over the tokens, where the token before the first one
  // counts as BOS. So the leading space of the first text piece is dropped, both when the sequence starts
  // with BOS and when it does not, and Decode(Encode(s, ...)) == s for every s when the vocabulary has
  // byte tokens and a " " piece. The result is raw bytes (invalid UTF-8 if the tokens say so); text meant for
  // a client goes through StreamDecoder (detokenizer.h).
  std::string Decode(std::span<const int> tokens) const;

  // The id of the piece spelled exactly `piece`, any kind of token included, or -1.
  int PieceToId(std::string_view piece) const;
  // The byte token for `byte`, or -1 when the vocabulary has none.
  int ByteToken(uint8_t byte) const { return byte_token_[byte]; }

  int vocab_size() const { return static_cast<int>(pieces_.size()); }
  int bos_id() const { return kBosId; }
  int eos_id() const { return kEosId; }
  int unk_id() const { return kUnkId; }
  uint32_t max_token_length() const { return max_token_length_; }
  // Piece text and score of `id`; "" and 0 for an id outside [0, vocab_size()).
  const std::string& Piece(int id) const;
  float Score(int id) const;
  bool IsByteToken(int id) const;

 private:
  struct Candidate;  // a mergeable adjacent pair, in Encode's queue

  // Hashes std::string and std::string_view alike, so lookups need no temporary string.
  struct PieceHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  Tokenizer() = default;
  // Fills byte_of_, byte_token_ and piece_ids_ from pieces_.
  void BuildIndex();
  bool ValidId(int id) const { return id >= 0 && id < vocab_size(); }
  // Whether `id` is an ordinary piece, one that BPE may start from or produce.
  bool Mergeable(int id) const { return ValidId(id) && id > kEosId && byte_of_[id] < 0; }
  // Appends the initial units of `text` (one token per character, or byte fallback) to `out`.
  void AppendUnits(std::string_view text, std::vector<int>& out) const;
  // The piece that merges `left` and `right`, or -1; `scratch` is reused to spare allocations.
  int MergeOf(int left, int right, std::string& scratch) const;
  // Merges `tokens` in place, highest score first, leftmost among equals.
  void MergePairs(std::vector<int>& tokens) const;

  // All constant after Load or FromPieces.
  uint32_t max_token_length_ = 0;
  std::vector<std::string> pieces_;
  std::vector<float> scores_;
  std::vector<int16_t> byte_of_;  // per id: the byte a byte token stands for, or -1
  int byte_token_[256] = {};      // per byte: its byte token, or -1
  std::unordered_map<std::string, int, PieceHash, std::equal_to<>> piece_ids_;  // lowest id per piece text
};

}  // namespace fpgaserve
