// Reads a Hugging Face `tokenizer.json` (and optionally its `tokenizer_config.json`) of a byte-level BPE
// vocabulary and turns it into GGUF tokenizer metadata (GgufVocabulary, gguf_writer.h), as llama.cpp's
// convert_hf_to_gguf.py would write it, so `fpgaserve model random --tokenizer-json` can make a GGUF file
// that carries Llama 3's or SmolLM2's real vocabulary.
//
// What is read:
//   model            type "BPE" (byte-level: its tokens are GPT-2 byte characters), vocab (token -> id),
//                    merges ("a b" strings or [a, b] pairs; rank = order), unk_token, ignore_merges
//   added_tokens     {id, content, special}: special -> control (type 3), otherwise user-defined (4); the
//                    rest of the vocabulary is normal (1)
//   pre_tokenizer    recognised by its structure, not a hash of its output as llama.cpp does:
//                      Split(Regex = Llama 3's pattern, Isolated) [+ ByteLevel(use_regex false)] -> "llama-bpe"
//                      Sequence[Digits(individual_digits), ByteLevel(use_regex true)]            -> "smollm"
//                    model.ignore_merges must agree with that choice (true for llama-bpe, false for smollm)
//   post_processor   a TemplateProcessing whose `single` starts with the BOS token means add_bos_token
//   tokenizer_config bos_token, eos_token, pad_token (strings or {content}), add_bos_token, add_eos_token,
//                    chat_template (a string) -- each overrides what tokenizer.json says
// Without a config, BOS is "<|begin_of_text|>" or "<|endoftext|>" and EOS "<|end_of_text|>" or
// "<|endoftext|>", whichever the vocabulary has. The end-of-turn id is the control token "<|eot_id|>" (Llama
// 3) or "<|im_end|>" (ChatML, SmolLM2 Instruct), the end-of-message id "<|eom_id|>", when present.
// add_bos_token without config or post-processor: true for llama-bpe, false for smollm.
//
// Thread-safety: a free function with no shared state.
#pragma once

#include <string>

#include "base/status.h"
#include "server/model/gguf_writer.h"

namespace fpgaserve {

// The vocabulary of `tokenizer_json_path` (+ `tokenizer_config_path` when non-empty). NotFound when a file
// cannot be read; InvalidArgument naming the file and the defect when it is not JSON, the model is not BPE,
// a normalizer is present, the pre-tokenizer is none of the two above (the message shows it), ids are
// negative, repeated or leave holes, a merge is malformed, or a named special token is not in the vocabulary.
Result<GgufVocabulary> ReadHfTokenizer(const std::string& tokenizer_json_path,
                                       const std::string& tokenizer_config_path);

}  // namespace fpgaserve
