// Chat templates: OpenAI `messages` -> the prompt a model was trained to continue.
//
//   plain   System: {system}\nUser: {user}\nAssistant: {assistant}\nUser: {user}\nAssistant:
//           One BOS, then that text. For base models (the bundled demo is one): it reads like a
//           transcript, so a base model continues it as best it can. The default (config/README.md).
//   llama2  Meta's Llama-2-chat format (llama/generation.py, chat_completion):
//           <s>[INST] <<SYS>>\n{system}\n<</SYS>>\n\n{user} [/INST] {assistant} </s><s>[INST] {user} [/INST]
//           Each user/assistant pair is its own BOS ... EOS segment; contents are stripped of surrounding
//           whitespace as Meta does. BOS and EOS are token ids, never the text "<s>" (the tokenizer never
//           merges text into a special token, so a user cannot inject one).
// Both: every system message (in order, joined by a blank line) makes the system prompt; the other
// messages must alternate user, assistant, user, ... starting with user. When the last message is the
// assistant's, the prompt ends inside that reply so the model continues it (no "Assistant:" line added
// and, for llama2, no EOS).
// A model's own Jinja chat template (--chat-template-file, or the GGUF tokenizer.chat_template) is rendered
// by JinjaChatTemplate (jinja_chat.h) instead; these two kinds need no template text.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"

namespace fpgaserve {

enum class ChatTemplateKind { kPlain, kLlama2 };

struct ChatMessage {
  std::string role;     // "system", "user" or "assistant" (the parser maps "developer" to "system")
  std::string content;  // text parts already concatenated
};

// A piece of prompt text and the special tokens around it.
struct ChatSegment {
  bool bos = false;  // a BOS token before the text
  std::string text;  // encoded with the tokenizer (which adds its dummy-prefix space)
  bool eos = false;  // an EOS token after the text
};

// Renders `messages`. InvalidArgument (param "messages") when there is no user message or the roles do
// not alternate as described above.
Result<std::vector<ChatSegment>> RenderChat(ChatTemplateKind kind, const std::vector<ChatMessage>& messages);

// The segments as one readable string, "<s>" and "</s>" spelled out (logs and tests).
std::string ChatSegmentsText(const std::vector<ChatSegment>& segments);

// "plain" / "llama2" -> kind; false for any other name.
bool ParseChatTemplateKind(const std::string& name, ChatTemplateKind* kind);

}  // namespace fpgaserve
