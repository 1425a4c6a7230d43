#include "server/engine/sequence_output.h"

#include <utility>

namespace fpgaserve {

SequenceOutput::SequenceOutput(const SequenceRequest& request, uint64_t seed, int vocab_size,
                               const Tokenizer& tokenizer)
    : request_(request),
      tokenizer_(tokenizer),
      sampler_(request.sampling, vocab_size, request.prompt),
      rng_(seed),
      decoder_(tokenizer, request.prompt.back()),
      stop_(request.stop) {}

SequenceOutput::Next SequenceOutput::OnLogits(float* logits_row, bool slot_full) {
  const SampleResult r = sampler_.Sample(logits_row, rng_);  // processes the row in place
  generated_++;
  Next next;
  next.token = r.token;

  // An end-of-generation token (EOS, end of turn) ends the sequence and is never text. Only those: a sampled
  // BOS is an ordinary (empty) token.
  if (tokenizer_.IsEndOfGeneration(r.token) && !request_.ignore_eos) {
    next.final_event = Finish(FinishReason::kStop, "");
    return next;
  }
  StopMatcher::Output out = stop_.Feed(decoder_.Push(r.token));
  if (out.matched) {
    // The token that completes a stop string is not reported as a token: only the text before it is.
    next.final_event = Finish(FinishReason::kStop, std::move(out.text));
    return next;
  }
  StreamEvent e;
  e.kind = StreamEvent::Kind::kToken;
  e.text = std::move(out.text);
  e.token = r.token;
  if (request_.sampling.logprobs || request_.sampling.top_logprobs > 0) {
    e.logprob = r.logprob;
    e.top_logprobs = r.top_logprobs;
  }
  next.token_event = std::move(e);
  emitted_ = true;
  if (generated_ >= request_.max_tokens || slot_full) next.final_event = Finish(FinishReason::kLength, "");
  return next;
}

StreamEvent SequenceOutput::Finish(FinishReason reason, std::string text) {
  if (!stop_.matched()) {
    // An unfinished UTF-8 character becomes U+FFFD, which, in theory, could complete a stop string.
    StopMatcher::Output out = stop_.Feed(decoder_.Flush());
    text += out.text;
    if (out.matched) {
      reason = FinishReason::kStop;
    } else {
      text += stop_.Flush();
    }
  }
  finished_ = true;
  StreamEvent e;
  e.kind = StreamEvent::Kind::kFinished;
  e.text = std::move(text);
  e.finish_reason = reason;
  e.prompt_tokens = static_cast<int>(request_.prompt.size());
  e.completion_tokens = generated_;
  return e;
}

StreamEvent SequenceOutput::ErrorEvent(Status status) const {
  StreamEvent e;
  e.kind = StreamEvent::Kind::kError;
  e.error = std::move(status);
  e.prompt_tokens = static_cast<int>(request_.prompt.size());
  e.completion_tokens = generated_;
  return e;
}

}  // namespace fpgaserve
