// A small byte-level BPE ("gpt2") vocabulary for tests: the 256 byte characters, merges that spell a few
// English words, then control tokens (BOS, EOS, end of turn) and one user-defined token, padded with
// two-letter merges to exactly `size` tokens (size >= 300).
#pragma once

#include <set>
#include <string>
#include <vector>

#include "server/model/byte_level_bpe.h"
#include "server/model/gguf_writer.h"
#include "server/model/pretokenizer.h"
#include "server/model/tokenizer.h"

namespace fpgaserve::testing {

inline GgufVocabulary SmallByteLevelVocabulary(int size = 512, const std::string& pre = "llama-bpe") {
  GgufVocabulary v;
  v.model = "gpt2";
  v.pre = pre;
  std::set<std::string> have;
  auto add = [&](const std::string& token, int32_t type) {
    v.tokens.push_back(token);
    v.token_types.push_back(type);
    have.insert(token);
  };
  for (int b = 0; b < 256; ++b) add(ByteLevelBpe::ByteToUnicode(static_cast<uint8_t>(b)), 1);
  auto merge = [&](const std::string& a, const std::string& b) {
    v.merges.push_back(a + " " + b);
    if (have.count(a + b) == 0) add(a + b, 1);
  };
  const std::string sp = ByteLevelBpe::ByteToUnicode(' ');  // "Ġ"
  merge("t", "h");
  merge(sp, "t");
  merge("th", "e");
  merge(sp + "t", "he");
  merge("e", "n");
  merge(sp + "the", "n");
  merge("i", "n");
  merge(sp, "in");
  const int specials = 4;
  for (char a = 'a'; a <= 'z' && static_cast<int>(v.tokens.size()) < size - specials; ++a) {
    for (char b = 'a'; b <= 'z' && static_cast<int>(v.tokens.size()) < size - specials; ++b) {
      const std::string pair = std::string(1, a) + b;
      if (have.count(pair) == 0) merge(std::string(1, a), std::string(1, b));
    }
  }
  v.bos = static_cast<int>(v.tokens.size());
  add("<|begin_of_text|>", 3);
  v.eos = static_cast<int>(v.tokens.size());
  add("<|end_of_text|>", 3);
  v.eot = static_cast<int>(v.tokens.size());
  add("<|eot_id|>", 3);
  add("<tool>", 4);
  v.add_bos = true;
  return v;
}

// The Tokenizer of SmallByteLevelVocabulary(size): its BOS, EOS and end-of-turn ids. REQUIRES: size >= 300.
inline Tokenizer SmallByteLevelTokenizer(int size = 512) {
  const GgufVocabulary v = SmallByteLevelVocabulary(size);
  std::vector<TokenType> types;
  for (int32_t t : v.token_types) types.push_back(static_cast<TokenType>(t));
  ByteLevelBpeIds ids;
  ids.bos = v.bos;
  ids.eos = v.eos;
  ids.eot = v.eot;
  return Tokenizer::FromByteLevelBpe(
             ByteLevelBpe::Create(v.tokens, types, v.merges, Pretokenizer::Create(v.pre).value(), "test").value(), ids,
             "test")
      .value();
}

}  // namespace fpgaserve::testing
