// A made-up SentencePiece vocabulary for random-weight GGUF files that llama.cpp must load too (the
// llama.cpp comparison test and `bench llamacpp`): ModelToGguf's own made-up pieces have no byte tokens,
// and the process running llama.cpp (node-llama-cpp 3.21.1) aborts with an uncaught std::out_of_range while
// loading such a SentencePiece vocabulary; llama.cpp looks up <0x0A> (or "\n") for its newline token.
#pragma once

#include "server/model/gguf_writer.h"

namespace fpgaserve {

// Replaces the tokenizer.ggml.* metadata of `b` with a `vocab`-piece SentencePiece ("llama") vocabulary:
// <unk>, <s> (BOS), </s> (EOS), the 256 byte tokens <0x00>..<0xFF>, then "\u2581a".."\u2581z", letter pairs
// and numbered words, with falling scores. REQUIRES: vocab >= 259.
void WriteMadeUpSentencePieceVocabulary(GgufBuilder& b, int vocab);

}  // namespace fpgaserve
