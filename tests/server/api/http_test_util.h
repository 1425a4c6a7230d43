// Helpers of the HTTP tests: a llama2.c tokenizer file of 512 pieces (the `tiny` model's vocabulary size)
// and a loader for it.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "server/model/tokenizer.h"
#include "support/test_support.h"

namespace fpgaserve::testing {

inline constexpr int kTestVocab = 512;

// <unk>, BOS, EOS, 256 byte tokens, ' ' and printable ASCII characters, then two- and three-letter merges
// (scores falling with their rank) until there are 512 pieces.
inline std::string TestTokenizerBytes() {
  std::vector<std::pair<std::string, float>> pieces = {{"<unk>", 0}, {"\n<s>\n", 0}, {"\n</s>\n", 0}};
  for (int b = 0; b < 256; ++b) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    pieces.push_back({buf, 0});
  }
  for (int c = 32; c < 127; ++c) pieces.push_back({std::string(1, static_cast<char>(c)), -1000.0f - c});
  const char* words[] = {" the", " a", " and", " of", " to", " in", " is", " was", " he", " she", " it", " you",
                         " I",   "th", "he",   "in",  "er",  "an",  "re",  "on",   "at",  "en",   "nd",  "ti",
                         "es",   "or", " t",   " s",  " w",  " o",  " b",  " c",   " m",  " h",   " f",  " p"};
  float score = -1;
  for (const char* w : words) pieces.push_back({w, score--});
  for (char a = 'a'; a <= 'z' && pieces.size() < kTestVocab; ++a) {
    for (char b = 'a'; b <= 'z' && pieces.size() < kTestVocab; ++b) {
      std::string p{a, b};
      bool dup = false;
      for (const auto& q : pieces) dup = dup || q.first == p;
      if (!dup) pieces.push_back({p, score--});
    }
  }
  return LlamaTokenizerFileBytes(pieces);
}

// Writes the test tokenizer into dir and loads it.
inline std::shared_ptr<const Tokenizer> LoadTestTokenizer(const TempDir& dir) {
  const std::string path = dir.file("tokenizer.bin");
  WriteFile(path, TestTokenizerBytes());
  Result<Tokenizer> t = Tokenizer::Load(path, kTestVocab);
  if (!t.ok()) return nullptr;
  return std::make_shared<const Tokenizer>(std::move(t.value()));
}

}  // namespace fpgaserve::testing
