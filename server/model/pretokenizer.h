// Pretokenizer: the regex split a byte-level BPE vocabulary applies to text before its merges (Hugging Face
// tokenizers' "pre_tokenizer", llama.cpp's `tokenizer.ggml.pre`). Byte-level BPE never merges across the
// pieces this returns, so the split decides words, contractions, digit groups and whitespace runs.
//
// Kinds (the GGUF tokenizer.ggml.pre names), each a sequence of regex stages; every stage splits each piece
// of the previous one into its matches and the gaps between them ("Isolated" in tokenizers' terms):
//   "llama-bpe" (Llama 3, 3.1, 3.2; tokenizer.json's Split pattern):
//       (?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
//       ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//   "smollm" (SmolLM, SmolLM2; tokenizer.json's Digits{individual_digits} then ByteLevel{use_regex}):
//       \p{N}          then          's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// Llama 3 writes its contractions as (?i:'s|...); we spell the case variants out as llama.cpp and
// transformers.js do, which differs from the Rust original only for "'ſ" (U+017F) and "'K" (U+212A, the Kelvin
// sign), which Unicode case folding would also match. \s is Unicode's White_Space property (as in Rust's regex,
// spelled out as a class; PCRE2's own \s leaves out U+0085). \p{L} and \p{N} come from PCRE2's Unicode tables.
//
// Text that is not valid UTF-8 is split too: an ill-formed byte matches no class, so it ends up in a gap piece.
//
// Thread-safety: immutable once created; Split may run concurrently (each call has its own match data).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace fpgaserve {

class Pretokenizer {
 public:
  // The pre-tokenizer named `name` ("llama-bpe" or "smollm"). InvalidArgument naming the value and the
  // known names for any other; Internal if PCRE2 refuses a pattern (a build without Unicode support).
  static Result<std::shared_ptr<const Pretokenizer>> Create(std::string_view name);
  // The names Create accepts.
  static std::vector<std::string> Names();

  ~Pretokenizer();
  Pretokenizer(const Pretokenizer&) = delete;
  Pretokenizer& operator=(const Pretokenizer&) = delete;

  // Appends the pieces of `text` to `pieces` (views into `text`, in order, none empty; their concatenation is
  // `text`). Never fails; O(text size) for these patterns.
  void Split(std::string_view text, std::vector<std::string_view>* pieces) const;

  const std::string& name() const { return name_; }
  // Whether a piece that is itself a vocabulary token is taken whole, without merges (tokenizers' BPE
  // `ignore_merges`, true for Llama 3, false for SmolLM2; llama.cpp decides it by the pre-tokenizer as well).
  bool ignore_merges() const { return ignore_merges_; }

 private:
  struct Stage;
  Pretokenizer();
  void SplitStage(const Stage& stage, std::string_view text, std::vector<std::string_view>* pieces) const;

  std::string name_;
  bool ignore_merges_ = false;
  std::vector<Stage> stages_;  // PCRE2 patterns, JIT-compiled; freed by the destructor
};

}  // namespace fpgaserve
