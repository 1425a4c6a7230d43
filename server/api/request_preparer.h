// PrepareRequest: a parsed OpenAI request + the model -> the engine's SequenceRequests.
//
// Tokenizes the prompts (completions: each text with BOS; token-id prompts as given; chat: the chat
// template, built-in or Jinja), checks them against the model (token ids in the vocabulary, prompt + max_tokens within
// the context), and makes one SequenceRequest per choice. Choices are numbered as OpenAI numbers them: index k =
// prompt_index * n + i. Seeds: with a request seed s, choice k uses s + k (so n > 1 gives n different samples, and the
// same request gives the same n samples again); without one, a random s is drawn once per request and used the same
// way. max_tokens: when absent, min(default_max_tokens, context - prompt); when given, it must be at most
// max_tokens_limit and prompt + max_tokens must fit in the context (OutOfRange otherwise, the message
// naming both numbers, param "max_tokens"; a prompt that leaves no room at all names "prompt"/"messages").
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "server/api/chat_template.h"
#include "server/api/jinja_chat.h"
#include "server/api/openai_request.h"
#include "server/engine/engine.h"
#include "server/model/tokenizer.h"

namespace fpgaserve {

struct PrepareOptions {
  ChatTemplateKind chat_template = ChatTemplateKind::kPlain;
  int default_max_tokens = 256;
  int max_tokens_limit = 0;                      // 0 = the context length
  std::chrono::milliseconds request_timeout{0};  // 0 = no deadline
  // When set, chat requests are rendered with this template (jinja_chat.h) and chat_template is unused.
  std::shared_ptr<const JinjaChatTemplate> jinja_template;
  // The time a deadline counts from: the engine's clock (its deadlines are compared on it). nullptr: RealClock().
  Clock* clock = nullptr;
};

struct PreparedPrompt {
  std::vector<int32_t> tokens;  // BOS included when the template or text adds one
  std::string text;             // what `echo` prepends: the prompt text as sent (token prompts: decoded)
};

struct PreparedRequest {
  std::vector<PreparedPrompt> prompts;
  int max_tokens = 0;
  uint64_t base_seed = 0;
  std::vector<SequenceRequest> sequences;  // prompts.size() * n, in choice-index order
  int prompt_tokens = 0;                   // usage: every prompt's tokens counted once
};

// `request_id` names the sequences ("<id>/<index>" when there are several). On failure returns
// InvalidArgument / OutOfRange and sets *param.
Result<PreparedRequest> PrepareRequest(const OpenAiRequest& request, const Tokenizer& tokenizer, int context_length,
                                       const PrepareOptions& options, const std::string& request_id,
                                       std::string* param);

}  // namespace fpgaserve
