// The tokenizer a GGUF file carries, as our SentencePiece-style Tokenizer — for vocabularies of
// tokenizer.ggml.model "llama" (Llama 2, TinyLlama, Mistral v0.1...). The BPE ("gpt2") vocabularies of
// Llama 3 and SmolLM2 are not handled yet: they are refused with a message saying so.
#pragma once

#include "fpga/status.h"
#include "server/model/gguf.h"
#include "server/model/tokenizer.h"

namespace fpgaserve {

// Builds the vocabulary from tokenizer.ggml.tokens (one piece per id; SentencePiece's U+2581 word marker
// becomes ' ', as llama2.c's tokenizer export writes it) and tokenizer.ggml.scores (all 0 when absent).
// tokenizer.ggml.token_type is not needed: the Tokenizer tells byte tokens by their "<0xXX>" spelling
// and treats ids 0-2 as <unk>, BOS and EOS. REQUIRES: `vocab_size` is the model's.
// InvalidArgument naming the file when: tokenizer.ggml.model is absent or not "llama"; the tokens are not
// an array of vocab_size strings; the scores are not as many float32s; tokenizer.ggml.unknown_token_id,
// bos_token_id or eos_token_id, when present, are not 0, 1 and 2 (the ids the engine relies on); or
// Tokenizer::FromPieces refuses the pieces.
Result<Tokenizer> TokenizerFromGguf(const GgufFile& file, int vocab_size);

}  // namespace fpgaserve
