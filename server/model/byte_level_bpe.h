// ByteLevelBpe: the byte-level BPE ("gpt2") vocabulary of Llama 3 and SmolLM2, as GGUF's tokenizer.ggml.*
// keys carry it (tokenizer.ggml.model "gpt2"). The rest of the server sees it through Tokenizer
// (tokenizer.h), which owns one of these when its kind is kByteLevelBpe.
//
// Encoding a text (as Hugging Face tokenizers and llama.cpp do):
//   1. special tokens: where the text spells a token that is matched as a whole (user-defined tokens always;
//      control tokens too when asked), that token is emitted; the text between them goes on. Longest
//      spelling wins at a position, leftmost position first.
//   2. pre-tokenization (pretokenizer.h) splits each stretch of text into pieces;
//   3. each piece's bytes become GPT-2's printable characters (byte b -> one code point, see ByteToUnicode),
//      one token per byte to start with;
//   4. with ignore_merges (Llama 3), a piece that is itself a normal token is taken whole; otherwise merges
//      apply lowest rank first (rank = order in tokenizer.ggml.merges), leftmost among equal ranks, until no
//      adjacent pair has a merge. O(n log n) per piece with a heap over a linked list.
// Decoding: a normal (or unknown/unused/byte-typed) token maps its characters back to bytes; a user-defined
// token is its own text; a control token is "" (it marks structure, not text).
//
// Thread-safety: immutable once built; all const methods may run concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "server/model/pretokenizer.h"

namespace fpgaserve {

// GGUF's token types (tokenizer.ggml.token_type), llama.cpp's numbering.
enum class TokenType : int32_t { kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6 };

// A token matched as a whole in text, and its spelling.
struct SpecialTokenSpelling {
  std::string text;
  int id = -1;
};

class ByteLevelBpe {
 public:
  // `tokens` as the file spells them (normal tokens in GPT-2's byte characters), one type per token, the
  // merges as "left right" strings in rank order. InvalidArgument, the message starting with `source`, when:
  // the counts differ; there are no tokens; a type is not 1-6; a normal token is not made of byte
  // characters; some byte has no single-character normal token; a merge has no single space, names a token
  // that does not exist, or yields a text that is no token.
  static Result<std::shared_ptr<const ByteLevelBpe>> Create(std::vector<std::string> tokens,
                                                            std::vector<TokenType> types,
                                                            const std::vector<std::string>& merges,
                                                            std::shared_ptr<const Pretokenizer> pre,
                                                            const std::string& source);

  // Appends the ids of `text` to `out` (steps 1-4 above); control tokens are matched only when
  // `parse_control`. Never fails: every byte has a token.
  void Encode(std::string_view text, bool parse_control, std::vector<int>* out) const;

  // The bytes of token `id` ("" for a control token or an id outside the vocabulary).
  const std::string& Bytes(int id) const;

  int size() const { return static_cast<int>(tokens_.size()); }
  const std::string& Token(int id) const { return tokens_[static_cast<size_t>(id)]; }
  TokenType Type(int id) const { return types_[static_cast<size_t>(id)]; }
  // The id of the token spelled `token` in the file's spelling, or -1.
  int Find(std::string_view token) const;
  // Control and user-defined tokens (all tokens matched as a whole), longest spelling first.
  const std::vector<SpecialTokenSpelling>& specials() const { return specials_; }
  const Pretokenizer& pretokenizer() const { return *pre_; }

  // GPT-2's map of a byte to the code point that stands for it in token text (printable Latin-1 characters
  // stand for themselves; the others, space included, are shifted to U+0100 and up), as UTF-8.
  static std::string ByteToUnicode(uint8_t byte);

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Merge {
    int rank;
    int merged;
  };

  ByteLevelBpe() = default;
  // Appends the BPE of one pre-tokenized piece.
  void EncodePiece(std::string_view piece, std::vector<int>* out) const;
  // Appends the ids of text that holds no special token.
  void EncodeText(std::string_view text, std::vector<int>* out) const;
  const Merge* FindMerge(int left, int right) const;

  // All constant after Create.
  std::vector<std::string> tokens_;
  std::vector<TokenType> types_;
  std::vector<std::string> bytes_;                                   // per id: what Decode gives
  std::unordered_map<std::string, int, Hash, std::equal_to<>> ids_;  // lowest id per spelling
  int byte_token_[256] = {};                                         // per byte: its one-character token
  std::unordered_map<uint64_t, Merge> merges_;                       // key: left id << 32 | right id
  std::vector<SpecialTokenSpelling> specials_;
  bool starts_special_[256] = {};  // per byte: whether some special token's spelling starts with it
  std::shared_ptr<const Pretokenizer> pre_;
};

}  // namespace fpgaserve
