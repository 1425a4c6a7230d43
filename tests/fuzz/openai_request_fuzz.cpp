// Request bodies of POST /v1/completions and /v1/chat/completions: ParseOpenAiRequest, then, for a body it
// accepts, PrepareRequest against the API tests' vocabulary (prompts tokenized, ids and lengths checked
// against the model, chat templates rendered). Input: byte 0 chooses the endpoint (bit 0), the built-in
// chat template (bit 1) or a Jinja one (bit 2); the rest is the body.
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "server/api/jinja_chat.h"
#include "server/api/openai_request.h"
#include "server/api/request_preparer.h"
#include "test_vocabularies.h"

namespace {

// A Llama 3 style template: loops, string concatenation, filters and special tokens in template text.
constexpr const char* kJinja =
    "{{ bos_token }}{% for m in messages %}<|start_header_id|>{{ m['role'] }}<|end_header_id|>\n\n"
    "{{ m['content'] | trim }}<|eot_id|>{% endfor %}"
    "{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fpgaserve;
  std::string_view in = fuzz::AsText(data, size);
  const uint8_t mode = fuzz::TakeByte(in);
  const ApiKind kind = (mode & 1) != 0 ? ApiKind::kChat : ApiKind::kCompletion;
  std::string param;
  Result<OpenAiRequest> request = ParseOpenAiRequest(kind, std::string(in), RequestLimits{}, &param);
  if (!request.ok()) return 0;

  static const std::shared_ptr<const JinjaChatTemplate> jinja = [] {
    JinjaChatOptions options;
    options.special_tokens = {{"<s>", 1}, {"</s>", 2}};
    auto t = JinjaChatTemplate::Create(kJinja, options);
    FUZZ_CHECK(t.ok());
    return t.value();
  }();
  PrepareOptions options;
  options.chat_template = (mode & 2) != 0 ? ChatTemplateKind::kLlama2 : ChatTemplateKind::kPlain;
  if ((mode & 4) != 0) options.jinja_template = jinja;
  const Tokenizer& tokenizer = fuzz::SentencePieceTestTokenizer();
  Result<PreparedRequest> prepared = PrepareRequest(request.value(), tokenizer, 256, options, "fuzz", &param);
  if (prepared.ok()) {
    // What the engine relies on: every prompt token is in the vocabulary and fits the context.
    for (const PreparedPrompt& p : prepared.value().prompts) {
      FUZZ_CHECK(!p.tokens.empty());
      FUZZ_CHECK(p.tokens.size() + static_cast<size_t>(prepared.value().max_tokens) <= 256);
      for (int32_t t : p.tokens) FUZZ_CHECK(t >= 0 && t < tokenizer.vocab_size());
    }
  }
  return 0;
}
