// JinjaChatTemplate: a model's own chat template (the Jinja text GGUF files carry as
// tokenizer.chat_template) applied to OpenAI `messages`, producing prompt pieces ready for the tokenizer.
//
// Special tokens and user text. A chat template writes special tokens as text ("<|eot_id|>", "<s>", or via
// the bos_token / eos_token variables), and the prompt only works if those become the special token ids.
// But a message may contain the same spelling ("<|eot_id|>" typed by a user), which must stay text: if it
// became the token, a user could forge turns (prompt injection). We keep the two apart by origin, not by
// spelling: the interpreter tracks which bytes of every string came from the request (jinja_value.h,
// TaintedText), through concatenation and filters, and a special-token spelling becomes a token id only
// where all of its bytes came from the template text or from bos_token / eos_token (which the server, not
// the client, supplies). Anything computed from request data (content | trim, tojson of tools, a role
// name) is user text, wholly, and is tokenized as plain text. A template that builds a special token out of
// request data (none of the common ones does) gets plain text there: safe, at worst a worse prompt.
//
// Tokenizing the pieces: each text piece is encoded on its own with the tokenizer's dummy-prefix space
// (Tokenizer::Encode), the way SentencePiece "legacy" Llama tokenizers encode text after a special token.
//
// Variables given to the template: messages (list of {role, content}), add_generation_prompt (true unless
// the last message is the assistant's: then the prompt ends with that reply, as plain/llama2 do), bos_token,
// eos_token, plus raise_exception() and strftime_now() (jinja_template.h). The server's clock gives the date.
//
// Thread-safety: immutable once created; Render may run concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "server/api/chat_template.h"
#include "server/api/jinja_template.h"
#include "server/model/tokenizer.h"

namespace fpgaserve {

// A special token of the vocabulary: its spelling in template text and its id.
struct SpecialToken {
  std::string text;
  int id = -1;
};

// A piece of a rendered prompt: text to encode, or one special token (token >= 0; text is its spelling,
// kept for logs and echo).
struct PromptPiece {
  std::string text;
  int token = -1;
};

struct JinjaChatOptions {
  std::string bos_token = "<s>";   // the bos_token variable
  std::string eos_token = "</s>";  // the eos_token variable
  // The spellings recognised as special tokens in template text (bos and eos included if they should be).
  // The longest spelling wins where two start at the same byte.
  std::vector<SpecialToken> special_tokens;
  JinjaOptions limits;
};

class JinjaChatTemplate {
 public:
  // Parses `template_text` (the GGUF loader passes tokenizer.chat_template; --chat-template-file passes a
  // file's text). InvalidArgument with line:column on a syntax error or an unsupported construct.
  static Result<std::shared_ptr<const JinjaChatTemplate>> Create(std::string_view template_text,
                                                                 JinjaChatOptions options);

  // The prompt for `messages` at time `now_unix_seconds` (strftime_now). InvalidArgument when
  // `messages` is empty, or the template fails or rejects them (raise_exception: its message).
  Result<std::vector<PromptPiece>> Render(const std::vector<ChatMessage>& messages, int64_t now_unix_seconds) const;

  const JinjaChatOptions& options() const { return options_; }

 private:
  JinjaChatTemplate(JinjaTemplate t, JinjaChatOptions options)
      : template_(std::move(t)), options_(std::move(options)) {}

  JinjaTemplate template_;
  JinjaChatOptions options_;
};

// Options for a llama2.c vocabulary (tokenizer.h), whose only special tokens are BOS and EOS: the template
// sees them as "<s>" and "</s>", and those spellings in template text become `bos_id` / `eos_id`.
JinjaChatOptions LlamaVocabChatOptions(int bos_id, int eos_id);

// Options for any vocabulary: LlamaVocabChatOptions for SentencePiece; for byte-level BPE, bos_token and
// eos_token are the spellings of the vocabulary's BOS and EOS ("" when it has none), and every control and
// user-defined token's spelling (Tokenizer::special_tokens) becomes its token in template text — so Llama 3's
// <|start_header_id|>, <|eot_id|> and SmolLM2's <|im_start|> are single ids where the template wrote them.
JinjaChatOptions VocabularyChatOptions(const Tokenizer& tokenizer);

// Reads and parses a template file. NotFound when it cannot be read; Create's errors otherwise, each
// message prefixed with the path.
Result<std::shared_ptr<const JinjaChatTemplate>> LoadJinjaChatTemplateFile(const std::string& path,
                                                                           JinjaChatOptions options);

// Splits rendered text into pieces: a special-token spelling becomes a token piece only where none of its
// bytes lies in a user range of `text`; everything else is text (adjacent text merged into one piece).
// Empty spellings are ignored. O(text size x specials).
std::vector<PromptPiece> SplitSpecialTokens(const jinja::TaintedText& text, const std::vector<SpecialToken>& specials);

// The pieces as one string (special tokens spelled out), for echo and logs.
std::string PromptPiecesText(const std::vector<PromptPiece>& pieces);

}  // namespace fpgaserve
