// The engine tests' tokenizer: a SentencePiece-style vocabulary of kTestVocab pieces (the tiny model's
// vocabulary size) whose single characters and byte tokens let a test spell any text token by token.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "server/model/tokenizer.h"
#include "support/test_support.h"

namespace fpgaserve::testing {

constexpr int kTestVocab = 512;

// <unk>, BOS, EOS, the 256 byte tokens (ids 3..258), single characters, then filler words up to kTestVocab.
inline std::shared_ptr<const Tokenizer> TestTokenizer() {
  static const std::shared_ptr<const Tokenizer> tokenizer = [] {
    std::vector<std::string> pieces = {"<unk>", "\n<s>\n", "\n</s>\n"};
    for (int b = 0; b < 256; ++b) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "<0x%02X>", b);
      pieces.push_back(buf);
    }
    for (char c = 'a'; c <= 'z'; ++c) pieces.push_back(std::string(1, c));
    for (const char* p : {" ", ".", ",", "!", "?", "é", "中", "文", " the", " a"}) pieces.push_back(p);
    for (int k = 0; pieces.size() < static_cast<size_t>(kTestVocab); k++) pieces.push_back(" w" + std::to_string(k));
    std::vector<std::pair<std::string, float>> scored;
    for (const std::string& p : pieces) scored.push_back({p, -1.0f});
    const std::string bytes = LlamaTokenizerFileBytes(scored);
    TempDir dir;
    EXPECT_TRUE(WriteFile(dir.file("tokenizer.bin"), bytes));
    auto loaded = Tokenizer::Load(dir.file("tokenizer.bin"), kTestVocab);
    EXPECT_TRUE(loaded.ok()) << loaded.status().ToString();
    return std::make_shared<const Tokenizer>(std::move(loaded.value()));
  }();
  return tokenizer;
}

}  // namespace fpgaserve::testing
