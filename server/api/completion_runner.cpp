#include "server/api/completion_runner.h"

#include <algorithm>

#include "server/api/api_error.h"

namespace fpgaserve {
namespace {

using nlohmann::json;
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
  open_ = choices_.size();
  for (size_t k = 0; k < choices_.size(); ++k) {
    const auto& prompt = prepared_.sequences[k].prompt;
    choices_[k].prev_token = prompt.empty() ? tokenizer_->bos_id() : prompt.back();
    if (request_.echo) {
      choices_[k].text = prepared_.prompts[k / request_.n].text;
      choices_[k].text_bytes = choices_[k].text.size();
    }
  }
}

CompletionRunner::~CompletionRunner() {
  events_->SetNotify(nullptr);  // the streams may outlive the runner: no wake runs after this
  CancelAll();
}

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

void CompletionRunner::SetWake(std::function<void()> wake) { events_->SetNotify(std::move(wake)); }

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

// ---- Collecting ----

void CompletionRunner::Gather(const RequestEvents::Event& next) {
  Choice& c = choices_[static_cast<size_t>(next.choice)];
  const StreamEvent& e = next.event;
  if (e.kind == StreamEvent::Kind::kToken) {
    AddToken(c, e);
    c.text += e.text;
    return;
  }
  open_--;
  c.completion_tokens = std::max(c.completion_tokens, e.completion_tokens);
  if (e.kind == StreamEvent::Kind::kError) {
    if (failed_) return;  // a choice cancelled after the first error
    failed_ = true;
    error_ = e.error;
    CancelAll();
    return;
  }
  c.text += e.text;
  c.finish_reason = e.finish_reason;
}

std::optional<Result<json>> CompletionRunner::Collected() {
  if (failed_) return Result<json>(error_);
  if (open_ > 0) return std::nullopt;
  std::vector<ChoiceResult> results(choices_.size());
  for (size_t k = 0; k < choices_.size(); ++k) {
    Choice& c = choices_[k];
    results[k] = {static_cast<int>(k), std::move(c.text), c.finish_reason, std::move(c.tokens)};
  }
  return Result<json>(ResponseJson(meta_, request_, results, usage()));
}

std::optional<Result<json>> CompletionRunner::PollCollect() {
  RequestEvents::Event next;
  while (true) {
    if (std::optional<Result<json>> result = Collected()) return result;
    if (!events_->TryPop(&next)) return std::nullopt;
    Gather(next);
  }
}

Result<json> CompletionRunner::Collect(std::stop_token stop) {
  std::stop_callback on_stop(stop, [this] { CancelAll(); });
  RequestEvents::Event next;
  while (true) {
    if (std::optional<Result<json>> result = Collected()) return std::move(*result);
    if (events_->WaitUntil(Clock::TimePoint::max(), &next)) Gather(next);  // (no deadline: never false)
  }
}

// ---- Streaming ----

json CompletionRunner::NoLogprobs() const { return wants_logprobs() ? LogprobsJson(request_, {}) : json(nullptr); }

void CompletionRunner::PendChunk(int index, const std::string& text, const std::string& role,
                                 std::optional<FinishReason> finish, const json& logprobs) {
  pending_.push_back(SseData(ChunkJson(meta_, request_, index, text, role, finish, logprobs)));
}

void CompletionRunner::PendEndIfDone() {
  if (open_ > 0 || end_pended_) return;
  end_pended_ = true;
  if (!failed_ && request_.include_usage) pending_.push_back(SseData(UsageChunkJson(meta_, usage())));
  pending_.push_back(kSseDone);
}

void CompletionRunner::Render(const RequestEvents::Event& next) {
  const auto k = static_cast<size_t>(next.choice);
  Choice& c = choices_[k];
  const int index = next.choice;
  const StreamEvent& e = next.event;
  if (e.kind == StreamEvent::Kind::kToken) {
    c.tokens.clear();
    AddToken(c, e);
    if (e.text.empty() && !wants_logprobs()) return;  // held back: nothing to show yet
    PendChunk(index, e.text, "", std::nullopt, LogprobsJson(request_, c.tokens));
    return;
  }
  open_--;
  c.completion_tokens = std::max(c.completion_tokens, e.completion_tokens);
  if (e.kind == StreamEvent::Kind::kError) {
    if (!failed_) {  // (a choice cancelled after the first error: already reported)
      failed_ = true;
      error_ = e.error;
      CancelAll();
      pending_.push_back(SseData(ErrorFromStatus(e.error).ToJson()));
    }
  } else {
    if (!e.text.empty()) PendChunk(index, e.text, "", std::nullopt, NoLogprobs());
    c.finish_reason = e.finish_reason;
    PendChunk(index, "", "", e.finish_reason, NoLogprobs());
  }
  PendEndIfDone();
}

Clock::TimePoint CompletionRunner::KeepAliveDue(milliseconds keepalive) const {
  // Saturates: a keep-alive too far off for the clock's type never falls due.
  const auto room = std::chrono::duration_cast<milliseconds>(Clock::TimePoint::max() - last_write_);
  return keepalive >= room ? Clock::TimePoint::max() : last_write_ + keepalive;
}

CompletionRunner::SsePull CompletionRunner::Pull(Clock::TimePoint now, size_t max_bytes, std::string* out,
                                                 milliseconds keepalive, bool take_events) {
  if (!started_) {
    started_ = true;
    last_write_ = now;
    const json no_logprobs = NoLogprobs();
    for (size_t k = 0; k < choices_.size(); ++k) {
      if (meta_.kind == ApiKind::kChat) PendChunk(static_cast<int>(k), "", "assistant", std::nullopt, no_logprobs);
      if (request_.echo) PendChunk(static_cast<int>(k), choices_[k].text, "", std::nullopt, no_logprobs);
    }
    PendEndIfDone();  // (no choices)
  }
  const size_t before = out->size();
  RequestEvents::Event next;
  while (out->size() < max_bytes) {
    if (pending_.empty()) {
      if (!take_events || end_pended_ || !events_->TryPop(&next)) break;
      Render(next);
      continue;
    }
    *out += pending_.front();
    pending_.pop_front();
  }
  if (out->size() > before) last_write_ = now;
  if (end_pended_ && pending_.empty()) return {PullState::kEnd, Clock::TimePoint::max()};
  if (out->size() >= max_bytes) return {PullState::kMore, now};
  if (out->size() == before && now >= KeepAliveDue(keepalive)) {
    *out += kSseKeepAlive;
    last_write_ = now;
  }
  return {PullState::kWait, KeepAliveDue(keepalive)};
}

CompletionRunner::SsePull CompletionRunner::PullSse(Clock::TimePoint now, size_t max_bytes, std::string* out,
                                                    milliseconds keepalive) {
  return Pull(now, max_bytes, out, keepalive, /*take_events=*/true);
}

bool CompletionRunner::StreamTo(const std::function<bool(std::string_view)>& write, milliseconds keepalive,
                                std::stop_token stop) {
  std::stop_callback on_stop(stop, [this] { CancelAll(); });
  std::string out;
  RequestEvents::Event next;
  while (true) {
    // max_bytes 1: one SSE event per write. Events are taken by the wait below, one per wait.
    out.clear();
    const SsePull pulled = Pull(clock_->Now(), 1, &out, keepalive, /*take_events=*/false);
    if (!out.empty() && !write(out)) {
      CancelAll();  // the client is gone: free the slots
      return false;
    }
    if (pulled.state == PullState::kEnd) return true;
    if (pulled.state == PullState::kWait && events_->WaitUntil(pulled.wake_at, &next)) Render(next);
  }
}

}  // namespace fpgaserve
