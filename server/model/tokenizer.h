// Tokenizer: the vocabulary the server encodes prompts with and decodes tokens by. Two kinds:
//   kSentencePiece  the llama2.c `tokenizer.bin` vocabulary (or a GGUF file's SentencePiece "llama" vocabulary,
//                   see gguf_tokenizer.h): SentencePiece-style BPE by piece scores, described below;
//   kByteLevelBpe   a GGUF "gpt2" vocabulary (Llama 3, SmolLM2): byte-level BPE by merge ranks after a regex
//                   pre-tokenizer (byte_level_bpe.h, pretokenizer.h), built by FromByteLevelBpe.
// The rest of the server holds a shared_ptr<const Tokenizer> and does not ask which kind it is: BOS, EOS,
// the end-of-generation ids, whether a prompt starts with BOS and which spellings are special tokens are
// all per vocabulary.
//
// SentencePiece file format (little-endian, as llama2.c's export writes it):
//   uint32 max_token_length
//   vocab_size times: float32 score, uint32 len, `len` bytes of piece text
// vocab_size is not stored in the file: it comes from the model checkpoint. Bytes after the vocab_size-th
// token are ignored, as llama2.c ignores them.
//
// Conventions of the SentencePiece (Llama 2) vocabulary that this class relies on:
//   id 0 is <unk>, id 1 BOS (piece "\n<s>\n"), id 2 EOS (piece "\n</s>\n") (kUnkId, kBosId, kEosId);
//   a piece spelled exactly "<0xXX>" (two upper-case hex digits) is the byte-fallback token for byte 0xXX;
//   a leading space is a literal ' ' in the piece text (the exporter already replaced SentencePiece's U+2581).
//
// Encoding follows llama2.c's `encode` and gives the same tokens for every valid UTF-8 text with the Llama
// vocabulary; it differs only where llama2.c is undefined or unsafe (see Encode).
//
// Thread-safety: a Tokenizer is immutable once loaded; all const methods may run concurrently. It is cheap to
// move and safe to copy (a byte-level vocabulary is shared between copies, immutable).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "server/model/byte_level_bpe.h"

namespace fpgaserve {

// What a GGUF "gpt2" vocabulary holds besides its tokens and merges (gguf_tokenizer.h reads it). Ids are -1
// when the file has none.
struct ByteLevelBpeIds {
  int bos = -1;
  int eos = -1;
  int eot = -1;  // end of turn (Llama 3 Instruct's <|eot_id|>)
  int eom = -1;  // end of message (Llama 3.1's <|eom_id|>, after a tool call)
  int unk = -1;
  int pad = -1;
  bool add_bos = false;  // whether a prompt starts with BOS
  bool add_eos = false;  // recorded for completeness; prompts never end with EOS here
};

class Tokenizer {
 public:
  enum class Kind { kSentencePiece, kByteLevelBpe };

  // The ids of a SentencePiece vocabulary (and the values bos_id(), eos_id(), unk_id() give for it). A
  // byte-level vocabulary has its own: use the accessors.
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

  // A byte-level BPE vocabulary with its special ids. InvalidArgument, the message starting with `source`,
  // when an id in `ids` is outside [-1, vocab size) (-1: absent), or when there is no EOS (the engine would
  // never stop). REQUIRES: `vocab` is non-null.
  static Result<Tokenizer> FromByteLevelBpe(std::shared_ptr<const ByteLevelBpe> vocab, const ByteLevelBpeIds& ids,
                                            const std::string& source);

  // Text -> token ids: BOS if `bos` (and the vocabulary has one; callers that start a prompt pass add_bos());
  // then the text's tokens; then EOS if `eos`. Control-token spellings in `text` are text, never the token
  // (a user cannot forge <|eot_id|>; see EncodeWithSpecials).
  //
  // Byte-level BPE: as byte_level_bpe.h says; user-defined tokens are matched as a whole, control tokens not.
  //
  // SentencePiece: when `text` is non-empty, the BPE of " " + text (the dummy prefix
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

  // Encode, except that the spellings of special tokens in `text` (special_tokens()) become those tokens,
  // as Hugging Face tokenizers and llama.cpp's parse_special do. For text the server trusts, or that the
  // client owns whole: completions prompts and /tokenize (a client that can send token ids gains nothing it
  // lacked), never chat message content (chat templates split specials by origin, jinja_chat.h). A
  // SentencePiece vocabulary has no special spellings, so for it this is Encode.
  std::vector<int> EncodeWithSpecials(std::string_view text, bool bos, bool eos) const;

  // The bytes one token stands for, given the token before it. Byte-level BPE: the token's bytes, "" for a
  // control token (BOS, EOS, <|eot_id|>...); `prev_token` does not matter. SentencePiece (llama2.c's `decode`):
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

  // The id of the piece spelled exactly `piece` (byte-level: in the file's spelling), any kind of token
  // included, or -1.
  int PieceToId(std::string_view piece) const;
  // The SentencePiece byte-fallback token for `byte`, or -1 when the vocabulary has none (always -1 for
  // byte-level BPE, which has no byte-fallback tokens).
  int ByteToken(uint8_t byte) const { return byte_token_[byte]; }

  Kind kind() const { return bpe_ ? Kind::kByteLevelBpe : Kind::kSentencePiece; }
  int vocab_size() const { return bpe_ ? bpe_->size() : static_cast<int>(pieces_.size()); }
  // BOS, EOS and <unk> of this vocabulary; -1 when it has none (a byte-level vocabulary may lack BOS or unk).
  int bos_id() const { return bos_id_; }
  int eos_id() const { return eos_id_; }
  int unk_id() const { return unk_id_; }
  // Whether a prompt starts with BOS (SentencePiece: always; byte-level: tokenizer.ggml.add_bos_token).
  bool add_bos() const { return add_bos_; }
  // The tokens that end a generation: EOS, and end-of-turn / end-of-message when the vocabulary has them.
  const std::vector<int>& end_of_generation_ids() const { return eog_ids_; }
  bool IsEndOfGeneration(int id) const;
  // Spellings EncodeWithSpecials turns into tokens (control and user-defined tokens of a byte-level
  // vocabulary, longest first); empty for SentencePiece.
  const std::vector<SpecialTokenSpelling>& special_tokens() const;
  uint32_t max_token_length() const { return max_token_length_; }
  // Piece text and score of `id`; "" and 0 for an id outside [0, vocab_size()). Byte-level: the token as the
  // file spells it (GPT-2 byte characters), score 0.
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

  // All constant after Load, FromPieces or FromByteLevelBpe.
  int bos_id_ = kBosId;
  int eos_id_ = kEosId;
  int unk_id_ = kUnkId;
  bool add_bos_ = true;
  std::vector<int> eog_ids_ = {kEosId};
  std::shared_ptr<const ByteLevelBpe> bpe_;  // set for a byte-level vocabulary; then the fields below are empty
  uint32_t max_token_length_ = 0;
  std::vector<std::string> pieces_;
  std::vector<float> scores_;
  std::vector<int16_t> byte_of_;  // per id: the byte a byte token stands for, or -1
  int byte_token_[256] = {};      // per byte: its byte token, or -1
  std::unordered_map<std::string, int, PieceHash, std::equal_to<>> piece_ids_;  // lowest id per piece text
};

}  // namespace fpgaserve
