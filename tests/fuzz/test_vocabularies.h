// The two vocabularies the text harnesses encode with, built once per process: the SentencePiece test
// vocabulary of the API tests (server/api/http_test_util.h, 512 pieces with byte tokens) and the small
// byte-level BPE vocabulary of the model tests (support/byte_level_vocabulary.h).
#pragma once

#include <memory>

#include "fuzz_util.h"
#include "server/api/http_test_util.h"
#include "server/model/tokenizer.h"
#include "support/byte_level_vocabulary.h"

namespace fpgaserve::fuzz {

inline const Tokenizer& SentencePieceTestTokenizer() {
  static const Tokenizer* const tokenizer = [] {
    const MemFile file(testing::TestTokenizerBytes());
    Result<Tokenizer> t = Tokenizer::Load(file.path(), testing::kTestVocab);
    FUZZ_CHECK(t.ok());
    return new Tokenizer(std::move(t.value()));
  }();
  return *tokenizer;
}

inline const Tokenizer& ByteLevelTestTokenizer() {
  static const Tokenizer* const tokenizer = new Tokenizer(testing::SmallByteLevelTokenizer());
  return *tokenizer;
}

}  // namespace fpgaserve::fuzz
