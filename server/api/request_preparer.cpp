#include "server/api/request_preparer.h"

#include "server/engine/rng.h"
#include "server/model/detokenizer.h"

namespace fpgaserve {
namespace {

Status Bad(std::string* param, const std::string& name, Status status) {
  *param = name;
  return status;
}

// Decoded text of client-given tokens, as valid UTF-8 (for echo).
std::string TokensText(const Tokenizer& tokenizer, const std::vector<int32_t>& tokens) {
  StreamDecoder decoder(tokenizer);
  std::string text;
  for (int32_t t : tokens) text += decoder.Push(t);
  return text + decoder.Flush();
}

Status TokenizePrompts(const OpenAiRequest& r, const Tokenizer& tok, const PrepareOptions& options,
                       std::vector<PreparedPrompt>* out, std::string* param) {
  if (r.kind == ApiKind::kChat && options.jinja_template) {
    // Special tokens are ids only where the template wrote them; message text is encoded as text.
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    Result<std::vector<PromptPiece>> pieces =
        options.jinja_template->Render(r.messages, std::chrono::duration_cast<std::chrono::seconds>(now).count());
    if (!pieces.ok()) return Bad(param, "messages", pieces.status());
    PreparedPrompt p;
    for (const PromptPiece& piece : pieces.value()) {
      if (piece.token >= 0) {
        p.tokens.push_back(piece.token);
      } else {
        for (int t : tok.Encode(piece.text, /*bos=*/false, /*eos=*/false)) p.tokens.push_back(t);
      }
    }
    p.text = PromptPiecesText(pieces.value());
    out->push_back(std::move(p));
    return Status::Ok();
  }
  if (r.kind == ApiKind::kChat) {
    Result<std::vector<ChatSegment>> segments = RenderChat(options.chat_template, r.messages);
    if (!segments.ok()) return Bad(param, "messages", segments.status());
    PreparedPrompt p;
    for (const ChatSegment& seg : segments.value()) {
      for (int t : tok.Encode(seg.text, seg.bos, seg.eos)) p.tokens.push_back(t);
    }
    p.text = ChatSegmentsText(segments.value());
    out->push_back(std::move(p));
    return Status::Ok();
  }
  for (size_t i = 0; i < r.prompts.size(); ++i) {
    const PromptInput& in = r.prompts[i];
    PreparedPrompt p;
    if (in.is_tokens) {
      for (int64_t t : in.tokens) {
        if (t >= tok.vocab_size()) {
          return Bad(param, "prompt",
                     Status::InvalidArgument("prompt token " + std::to_string(t) + " is outside the vocabulary [0, " +
                                             std::to_string(tok.vocab_size() - 1) + "]"));
        }
        p.tokens.push_back(static_cast<int32_t>(t));
      }
      p.text = TokensText(tok, p.tokens);
    } else {
      // The client owns the whole prompt (it could send token ids too), so special-token spellings in it are
      // those tokens, as vLLM and llama.cpp's server do: a raw Llama 3 chat prompt works as a completion.
      for (int t : tok.EncodeWithSpecials(in.text, tok.add_bos(), /*eos=*/false)) p.tokens.push_back(t);
      p.text = in.text;
    }
    out->push_back(std::move(p));
  }
  return Status::Ok();
}

}  // namespace

Result<PreparedRequest> PrepareRequest(const OpenAiRequest& r, const Tokenizer& tokenizer, int context_length,
                                       const PrepareOptions& options, const std::string& request_id,
                                       std::string* param) {
  param->clear();
  if (Status st = ValidateSamplingParams(r.sampling, tokenizer.vocab_size(), param); !st.ok()) return st;
  PreparedRequest out;
  if (Status st = TokenizePrompts(r, tokenizer, options, &out.prompts, param); !st.ok()) return st;

  const char* prompt_param = r.kind == ApiKind::kChat ? "messages" : "prompt";
  int longest = 0;
  for (const PreparedPrompt& p : out.prompts) {
    longest = std::max(longest, static_cast<int>(p.tokens.size()));
    out.prompt_tokens += static_cast<int>(p.tokens.size());
  }
  if (longest >= context_length) {
    return Bad(param, prompt_param,
               Status::OutOfRange("This model's maximum context length is " + std::to_string(context_length) +
                                  " tokens, but the prompt is " + std::to_string(longest) +
                                  " tokens, which leaves no room for a completion."));
  }
  const int limit = options.max_tokens_limit > 0 ? options.max_tokens_limit : context_length;
  if (r.max_tokens) {
    if (longest + *r.max_tokens > context_length) {
      return Bad(param, "max_tokens",
                 Status::OutOfRange("This model's maximum context length is " + std::to_string(context_length) +
                                    " tokens. However, you requested " + std::to_string(longest + *r.max_tokens) +
                                    " tokens (" + std::to_string(longest) + " in the prompt, " +
                                    std::to_string(*r.max_tokens) +
                                    " for the completion). Please reduce the prompt or max_tokens."));
    }
    if (*r.max_tokens > limit) {
      return Bad(param, "max_tokens",
                 Status::InvalidArgument("max_tokens is " + std::to_string(*r.max_tokens) +
                                         ", more than this server's limit of " + std::to_string(limit)));
    }
    out.max_tokens = *r.max_tokens;
  } else {
    out.max_tokens = std::min({options.default_max_tokens, limit, context_length - longest});
  }

  out.base_seed = r.sampling.seed ? *r.sampling.seed : Rng::RandomSeed();
  Clock* const clock = options.clock != nullptr ? options.clock : RealClock();
  const auto deadline = options.request_timeout.count() > 0 ? clock->Now() + options.request_timeout
                                                            : std::chrono::steady_clock::time_point::max();
  const int choices = static_cast<int>(out.prompts.size()) * r.n;
  for (int k = 0; k < choices; ++k) {
    SequenceRequest s;
    s.request_id = choices > 1 ? request_id + "/" + std::to_string(k) : request_id;
    s.prompt = out.prompts[k / r.n].tokens;
    s.sampling = r.sampling;
    s.sampling.seed = out.base_seed + static_cast<uint64_t>(k);
    s.max_tokens = out.max_tokens;
    s.stop = r.stop;
    s.ignore_eos = r.ignore_eos;
    s.deadline = deadline;
    out.sequences.push_back(std::move(s));
  }
  return out;
}

}  // namespace fpgaserve
