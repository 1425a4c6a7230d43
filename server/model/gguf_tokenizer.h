// The tokenizer a GGUF file carries, as our Tokenizer: SentencePiece for tokenizer.ggml.model "llama" (Llama 2,
// TinyLlama, Mistral v0.1...), byte-level BPE for "gpt2" (Llama 3, SmolLM2) with tokenizer.ggml.pre
// "llama-bpe" or "smollm" (pretokenizer.h).
#pragma once

#include "base/status.h"
#include "server/model/gguf.h"
#include "server/model/tokenizer.h"

namespace fpgaserve {

// "llama": builds the vocabulary from tokenizer.ggml.tokens (one piece per id; SentencePiece's U+2581 word marker
// becomes ' ', as llama2.c's tokenizer export writes it) and tokenizer.ggml.scores (all 0 when absent).
// tokenizer.ggml.token_type is not needed: the Tokenizer tells byte tokens by their "<0xXX>" spelling
// and treats ids 0-2 as <unk>, BOS and EOS. REQUIRES: `vocab_size` is the model's.
// InvalidArgument naming the file when: tokenizer.ggml.model is absent or not "llama"; the tokens are not
// an array of vocab_size strings; the scores are not as many float32s; tokenizer.ggml.unknown_token_id,
// bos_token_id or eos_token_id, when present, are not 0, 1 and 2 (the ids the engine relies on); or
// Tokenizer::FromPieces refuses the pieces.
//
// "gpt2": tokenizer.ggml.tokens (vocab_size strings), token_type (int32s 1-6; all normal when absent), merges
// (strings "left right", rank = position), pre, and the optional bos/eos/eot/eom/unknown/padding token ids
// and add_bos_token / add_eos_token bools (add_bos defaults to true for "llama-bpe", false for "smollm").
// EOS, end-of-turn and end-of-message are the end-of-generation ids. InvalidArgument naming the file and the
// defect when: pre is absent or not a known pre-tokenizer (the message names the value); an array has the
// wrong type or length; an id is not an integer inside the vocabulary; EOS is absent; a bool key is not a
// bool; or ByteLevelBpe::Create refuses the tokens, types or merges (unknown type, a merge naming an
// unknown token or yielding a non-token, a byte without its token).
Result<Tokenizer> TokenizerFromGguf(const GgufFile& file, int vocab_size);

}  // namespace fpgaserve
