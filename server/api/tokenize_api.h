// POST /tokenize and POST /detokenize bodies, in both dialects that clients use:
//   llama.cpp  {"content": "text", "add_special": false}         (add_special defaults to false)
//   vLLM       {"prompt": "text", "add_special_tokens": true}    (add_special_tokens defaults to true)
//   -> {"tokens": [ids...], "count": n, "max_model_len": context}
// "Special" means BOS before the text (the tokenizer adds no EOS to a prompt).
//   {"tokens": [ids...]} -> {"content": text, "prompt": text}  (llama.cpp's and vLLM's field names)
// The text is valid UTF-8: bytes that do not form a character become U+FFFD (StreamDecoder's rule).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "server/model/tokenizer.h"

namespace fpgaserve {

// InvalidArgument with *param set on a malformed body.
Result<nlohmann::json> TokenizeBody(const std::string& body, const Tokenizer& tokenizer, int context_length,
                                    std::string* param);
Result<nlohmann::json> DetokenizeBody(const std::string& body, const Tokenizer& tokenizer, std::string* param);

}  // namespace fpgaserve
