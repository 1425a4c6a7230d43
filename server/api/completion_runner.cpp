#include "server/api/completion_runner.h"

#include <algorithm>

#include "server/api/api_error.h"

namespace fpgaserve {
namespace {

using std::chrono::milliseconds;

}  // namespace

CompletionRunner::CompletionRunner(ResponseMeta meta, OpenAiRequest request, PreparedRequest prepared,
                                   std::shared_ptr<const Tokenizer> tokenizer, Clock* clock)
    : meta_(std::move(meta)),
      request_(std::move(request)),
      prepared_(std::move(prepared)),
      tokenizer_(std::move(tokenizer)),
      clock_(clock != nullptr ? clock : RealClock()),
      events_(std::make_shared<RequestEvents>(clock_)) {
  choices_.resize(prepared_.sequences.size());
  for (size_t k = 0; k < choices_.size(); ++k) {
    const auto& prompt = prepared_.sequences[k].prompt;
    choices_[k].prev_token = prompt.empty() ? tokenizer_->bos_id() : prompt.back();
    if (request_.echo) {
      choices_[k].text = prepared_.prompts[k / request_.n].text;
      choices_[k].text_bytes = choices_[k].text.size();
    }
  }
}

CompletionRunner::~CompletionRunner() { CancelAll(); }

Status CompletionRunner::Submit(Backend& backend) {
  for (size_t k = 0; k < choices_.size(); ++k) {
    Result<std::shared_ptr<Stream>> stream = backend.Submit(prepared_.sequences[k]);
    if (!stream.ok()) {
      CancelAll();
      error_ = stream.status();
      return error_;
    }
    choices_[k].stream = std::move(stream.value());
    choices_[k].stream->AttachTo(events_, static_cast<int>(k));
  }
  return Status::Ok();
}

void CompletionRunner::CancelAll() {
  // Reads only what is constant after Submit and the queue's own record of ended choices: the consumer
  // thread may be handling events meanwhile.
  for (size_t k = 0; k < choices_.size(); ++k) {
    const Choice& c = choices_[k];
    if (c.stream && !events_->ended(static_cast<int>(k))) c.stream->Cancel();
  }
}

Usage CompletionRunner::usage() const {
  Usage u;
  u.prompt_tokens = prepared_.prompt_tokens;
  for (const Choice& c : choices_) u.completion_tokens += c.completion_tokens;
  return u;
}

void CompletionRunner::AddToken(Choice& c, const StreamEvent& event) {
  c.completion_tokens++;
  if (wants_logprobs()) {
    TokenReport r;
    r.piece = tokenizer_->Decode(c.prev_token, event.token);
    r.logprob = event.logprob;
    r.text_offset = c.text_bytes;
    for (const TokenLogprob& t : event.top_logprobs) {
      r.top.emplace_back(tokenizer_->Decode(c.prev_token, t.token), t.logprob);
    }
    c.tokens.push_back(std::move(r));
  }
  c.prev_token = event.token;
  c.text_bytes += event.text.size();
}

Result<nlohmann::json> CompletionRunner::Collect(std::stop_token stop) {
  std::stop_callback on_stop(stop, [this] { CancelAll(); });
  size_t open = choices_.size();
  RequestEvents::Event next;
  while (open > 0) {
    if (!events_->WaitUntil(Clock::TimePoint::max(), &next)) continue;  // (no deadline: never false)
    Choice& c = choices_[static_cast<size_t>(next.choice)];
    const StreamEvent& e = next.event;
    if (e.kind == StreamEvent::Kind::kToken) {
      AddToken(c, e);
      c.text += e.text;
      continue;
    }
    open--;
    c.completion_tokens = std::max(c.completion_tokens, e.completion_tokens);
    if (e.kind == StreamEvent::Kind::kError) {
      error_ = e.error;
      CancelAll();
      return e.error;
    }
    c.text += e.text;
    c.finish_reason = e.finish_reason;
  }
  std::vector<ChoiceResult> results(choices_.size());
  for (size_t k = 0; k < choices_.size(); ++k) {
    Choice& c = choices_[k];
    results[k] = {static_cast<int>(k), std::move(c.text), c.finish_reason, std::move(c.tokens)};
  }
  return ResponseJson(meta_, request_, results, usage());
}

bool CompletionRunner::StreamTo(const std::function<bool(std::string_view)>& write, milliseconds keepalive,
                                std::stop_token stop) {
  std::stop_callback on_stop(stop, [this] { CancelAll(); });
  auto last_write = clock_->Now();
  auto send = [&](const std::string& data) {
    last_write = clock_->Now();
    if (write(data)) return true;
    CancelAll();  // the client is gone: free the slots
    return false;
  };
  auto chunk = [&](int index, const std::string& text, const std::string& role, std::optional<FinishReason> finish,
                   const nlohmann::json& logprobs) {
    return send(SseData(ChunkJson(meta_, request_, index, text, role, finish, logprobs)));
  };
  const nlohmann::json no_logprobs = wants_logprobs() ? LogprobsJson(request_, {}) : nlohmann::json(nullptr);

  for (size_t k = 0; k < choices_.size(); ++k) {
    if (meta_.kind == ApiKind::kChat && !chunk(static_cast<int>(k), "", "assistant", std::nullopt, no_logprobs)) {
      return false;
    }
    if (request_.echo && !chunk(static_cast<int>(k), choices_[k].text, "", std::nullopt, no_logprobs)) {
      return false;
    }
  }

  size_t open = choices_.size();
  bool failed = false;
  // Handles one event of choice k; false when the client is gone.
  auto handle = [&](size_t k, const StreamEvent& e) {
    Choice& c = choices_[k];
    const int index = static_cast<int>(k);
    if (e.kind == StreamEvent::Kind::kToken) {
      c.tokens.clear();
      AddToken(c, e);
      if (e.text.empty() && !wants_logprobs()) return true;  // held back: nothing to show yet
      return chunk(index, e.text, "", std::nullopt, LogprobsJson(request_, c.tokens));
    }
    open--;
    c.completion_tokens = std::max(c.completion_tokens, e.completion_tokens);
    if (e.kind == StreamEvent::Kind::kError) {
      if (failed) return true;  // cancelled after the first error: already reported
      failed = true;
      error_ = e.error;
      CancelAll();
      return send(SseData(ErrorFromStatus(e.error).ToJson()));
    }
    if (!e.text.empty() && !chunk(index, e.text, "", std::nullopt, no_logprobs)) return false;
    c.finish_reason = e.finish_reason;
    return chunk(index, "", "", e.finish_reason, no_logprobs);
  };

  RequestEvents::Event next;
  while (open > 0) {
    if (events_->WaitUntil(last_write + keepalive, &next)) {
      if (!handle(static_cast<size_t>(next.choice), next.event)) return false;
    } else if (!send(kSseKeepAlive)) {  // nothing written for `keepalive`
      return false;
    }
  }
  if (!failed && request_.include_usage && !send(SseData(UsageChunkJson(meta_, usage())))) return false;
  return send(kSseDone);
}

}  // namespace fpgaserve
