// Chat messages and templates: JinjaChatTemplate::Create and Render (a template with the byte-level test
// vocabulary's special tokens, as a GGUF's chat template is rendered) and the built-in RenderChat kinds.
// Input: the template text up to the first NUL, then messages separated by NULs, each a role byte
// (system, user, assistant, developer, or a made-up role) and its content.
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "server/api/chat_template.h"
#include "server/api/jinja_chat.h"
#include "test_vocabularies.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fpgaserve;
  std::string_view in = fuzz::AsText(data, size);
  const std::string_view template_text = fuzz::TakeUntilNul(in);
  std::vector<ChatMessage> messages;
  static const char* const kRoles[] = {"system", "user", "assistant", "developer", "tool"};
  while (!in.empty() && messages.size() < 64) {
    std::string_view m = fuzz::TakeUntilNul(in);
    const uint8_t role = fuzz::TakeByte(m);
    messages.push_back({kRoles[role % 5], std::string(m)});
  }

  for (ChatTemplateKind kind : {ChatTemplateKind::kPlain, ChatTemplateKind::kLlama2}) {
    Result<std::vector<ChatSegment>> segments = RenderChat(kind, messages);
    if (segments.ok()) (void)ChatSegmentsText(segments.value());
  }

  static const JinjaChatOptions options = [] {
    JinjaChatOptions o = VocabularyChatOptions(fuzz::ByteLevelTestTokenizer());
    o.limits.max_output_bytes = 64 * 1024;
    o.limits.max_items = 10000;
    o.limits.max_steps = 100000;
    return o;
  }();
  Result<std::shared_ptr<const JinjaChatTemplate>> t = JinjaChatTemplate::Create(template_text, options);
  if (!t.ok()) return 0;
  Result<std::vector<PromptPiece>> pieces = t.value()->Render(messages, 1700000000);
  if (!pieces.ok()) return 0;
  const Tokenizer& tokenizer = fuzz::ByteLevelTestTokenizer();
  for (const PromptPiece& p : pieces.value()) {
    if (p.token >= 0) {
      FUZZ_CHECK(p.token < tokenizer.vocab_size());
    } else {
      (void)tokenizer.Encode(p.text, false, false);
    }
  }
  return 0;
}
