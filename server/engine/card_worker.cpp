#include "server/engine/card_worker.h"

#include <algorithm>
#include <exception>

#include <spdlog/spdlog.h>

#include "server/engine/engine_metrics.h"
#include "server/engine/sequence.h"

namespace fpgaserve {
namespace {

using Steady = std::chrono::steady_clock;

double Seconds(Steady::duration d) { return std::chrono::duration<double>(d).count(); }

int BudgetOf(const EngineOptions& options, const DeviceInfo& info) {
  return options.step_token_budget > 0 ? std::min(options.step_token_budget, info.max_step) : info.max_step;
}

}  // namespace

CardWorker::CardWorker(Engine* engine, std::unique_ptr<Device> device, CardMetrics* metrics)
    : engine_(engine),
      device_(std::move(device)),
      info_(device_->info()),
      budget_(BudgetOf(engine->options_, info_)),
      metrics_(metrics) {
  for (int slot = info_.n_slots - 1; slot >= 0; slot--) free_slots_.push_back(slot);
  logits_.resize(static_cast<size_t>(info_.max_step) * info_.model.vocab_size);
  step_.entries.reserve(budget_);
}

void CardWorker::Start() { thread_ = std::thread([this] { Loop(); }); }

void CardWorker::Join() {
  if (thread_.joinable()) thread_.join();
}

void CardWorker::Loop() {
  std::unique_lock<std::mutex> lock(engine_->mu_);
  for (;;) {
    if (!healthy_ || abandoned_) break;
    if (!fail_request_.empty()) {
      engine_->FailCardLocked(*this, fail_request_);
      break;
    }
    if (engine_->stopping_) {
      EndAllLocked(Status::Cancelled("the server is shutting down"));
      break;
    }
    const Steady::time_point now = engine_->clock_->Now();
    ReapLocked(now);
    AdmitLocked(now);
    if (running_.empty()) {
      engine_->work_cv_.wait(lock);
      continue;
    }
    BuildStepLocked();
    in_run_ = true;
    run_started_ = engine_->clock_->Now();
    lock.unlock();

    const Status status = RunStep();

    lock.lock();
    in_run_ = false;
    const double seconds = Seconds(engine_->clock_->Now() - run_started_);
    busy_seconds_ += seconds;
    if (metrics_ != nullptr) metrics_->ObserveStep(static_cast<int>(step_.entries.size()), seconds);
    // Taken out of service while in Run (watchdog, shutdown): its sequences are no longer ours.
    if (abandoned_) break;
    if (!status.ok() || !fail_request_.empty()) {
      engine_->FailCardLocked(*this, status.ok() ? fail_request_ : status.message());
      break;
    }
    lock.unlock();

    ProcessResults();

    lock.lock();
    for (Sequence* seq : finished_) ReleaseLocked(seq);
    for (Pending& p : pending_) p.stream->Push(std::move(p.event));
    pending_.clear();
    if (!finished_.empty()) {
      finished_.clear();
      engine_->UpdateGaugesLocked();
      engine_->work_cv_.notify_all();  // free slots change where the queue head should go
    }
  }
}

void CardWorker::ReapLocked(Steady::time_point now) {
  bool changed = false;
  for (size_t i = 0; i < running_.size();) {
    Sequence& seq = *running_[i];
    Status why = engine_->CancellationOf(seq, now);
    if (why.ok()) {
      i++;
      continue;
    }
    std::shared_ptr<Sequence> keep = running_[i];
    ReleaseLocked(keep.get());
    engine_->EndWithErrorLocked(*keep, std::move(why));
    changed = true;
  }
  if (changed) {
    engine_->UpdateGaugesLocked();
    engine_->work_cv_.notify_all();
  }
}

bool CardWorker::OtherCardHasMoreRoomLocked() const {
  for (const auto& card : engine_->cards_) {
    if (card.get() == this || !card->healthy_ || card->abandoned_) continue;
    if (card->free_slots_locked() > free_slots_locked()) return true;
  }
  return false;
}

void CardWorker::AdmitLocked(Steady::time_point now) {
  auto& queue = engine_->queue_;
  bool changed = false;
  while (!free_slots_.empty() && !queue.empty()) {
    std::shared_ptr<Sequence> seq = queue.front();
    if (Status why = engine_->CancellationOf(*seq, now); !why.ok()) {
      queue.pop_front();
      engine_->EndWithErrorLocked(*seq, std::move(why));
      changed = true;
      continue;
    }
    if (OtherCardHasMoreRoomLocked()) break;
    queue.pop_front();
    const int slot = free_slots_.back();
    free_slots_.pop_back();
    seq->Bind(slot, info_.model.vocab_size, *engine_->tokenizer_);
    if (!seq->admitted_once) {
      seq->admitted_once = true;
      if (engine_->metrics_ != nullptr) engine_->metrics_->ObserveQueueTime(Seconds(now - seq->submitted));
    }
    running_.push_back(std::move(seq));
    changed = true;
  }
  if (changed) {
    if (metrics_ != nullptr) metrics_->SetSlotsUsed(static_cast<int>(running_.size()));
    engine_->UpdateGaugesLocked();
  }
}

void CardWorker::BuildStepLocked() {
  step_.entries.clear();
  step_.n_out_rows = 0;
  planned_.clear();
  const int budget = budget_;

  // Decode tokens first: every running stream advances each step. Only a card with more slots than the
  // budget can have more decoders than fit; those take turns (decode_cursor_).
  std::vector<Sequence*> decoders;
  for (const auto& seq : running_) {
    if (!seq->prefilling()) decoders.push_back(seq.get());
  }
  const size_t n_decode = std::min(decoders.size(), static_cast<size_t>(budget));
  if (decoders.size() > n_decode) {
    const size_t start = decode_cursor_ % decoders.size();
    std::rotate(decoders.begin(), decoders.begin() + static_cast<std::ptrdiff_t>(start), decoders.end());
    decode_cursor_ = start + n_decode;
  }
  for (size_t i = 0; i < n_decode; i++) {
    Sequence* seq = decoders[i];
    const int row = step_.n_out_rows++;
    step_.entries.push_back({seq->next_token, seq->fed, seq->slot, row});
    planned_.push_back({seq, 1, row});
  }

  // Then prompt chunks, in admission order, while the budget lasts. A prompt's last chunk asks for the
  // logits of its last token: they give the first generated token.
  for (const auto& seq : running_) {
    const int room = budget - static_cast<int>(step_.entries.size());
    if (room == 0) break;
    if (!seq->prefilling()) continue;
    const int n = std::min(room, seq->prompt_len() - seq->fed);
    for (int k = 0; k < n; k++) {
      const int pos = seq->fed + k;
      step_.entries.push_back({seq->request.prompt[pos], pos, seq->slot, -1});
    }
    int row = -1;
    if (seq->fed + n == seq->prompt_len()) {
      row = step_.n_out_rows++;
      step_.entries.back().out_row = row;
    }
    planned_.push_back({seq.get(), n, row});
  }
}

Status CardWorker::RunStep() {
  Status status;
  try {
    status = device_->Run(step_, logits_.data());
  } catch (const std::exception& e) {
    status = Status::DeviceFailure(std::string("the card threw: ") + e.what());
  } catch (...) {
    status = Status::DeviceFailure("the card threw an unknown exception");
  }
  if (status.ok() && !device_->Healthy()) status = Status::DeviceFailure("the card reports itself unhealthy");
  return status;
}

void CardWorker::ProcessResults() {
  const int vocab = info_.model.vocab_size;
  for (const Planned& p : planned_) {
    Sequence& seq = *p.seq;
    seq.fed += p.entries;
    if (p.out_row < 0) continue;
    EmitToken(seq, logits_.data() + static_cast<size_t>(p.out_row) * vocab);
  }
}

void CardWorker::EmitToken(Sequence& seq, float* logits_row) {
  EngineMetrics* m = engine_->metrics_;
  const SampleResult r = seq.sampler->Sample(logits_row, *seq.rng);  // processes the row in place
  const Steady::time_point now = engine_->clock_->Now();
  seq.generated++;
  if (m != nullptr) {
    if (seq.generated == 1) {
      m->ObserveTimeToFirstToken(Seconds(now - seq.submitted));
      m->AddPromptTokens(seq.prompt_len());
    } else {
      m->ObserveInterTokenLatency(Seconds(now - seq.last_token_time));
    }
    m->AddGenerationTokens(1);
  }
  seq.last_token_time = now;

  // An end-of-generation token (EOS, end of turn) ends the sequence and is never text. Only those: a sampled
  // BOS is an ordinary (empty) token.
  if (engine_->tokenizer_->IsEndOfGeneration(r.token) && !seq.request.ignore_eos) {
    Finish(seq, FinishReason::kStop, "");
    return;
  }
  StopMatcher::Output out = seq.stop->Feed(seq.decoder->Push(r.token));
  if (out.matched) {
    // The token that completes a stop string is not reported as a token: only the text before it is.
    Finish(seq, FinishReason::kStop, std::move(out.text));
    return;
  }
  StreamEvent e;
  e.kind = StreamEvent::Kind::kToken;
  e.text = std::move(out.text);
  e.token = r.token;
  if (seq.request.sampling.logprobs || seq.request.sampling.top_logprobs > 0) {
    e.logprob = r.logprob;
    e.top_logprobs = r.top_logprobs;
  }
  pending_.push_back({seq.stream, std::move(e)});
  seq.emitted = true;
  seq.next_token = r.token;
  // The next token would go at position `fed`; the slot ends at cache_len.
  if (seq.generated >= seq.request.max_tokens || seq.fed >= info_.cache_len) {
    Finish(seq, FinishReason::kLength, "");
  }
}

void CardWorker::Finish(Sequence& seq, FinishReason reason, std::string text) {
  if (!seq.stop->matched()) {
    // An unfinished UTF-8 character becomes U+FFFD, which, in theory, could complete a stop string.
    StopMatcher::Output out = seq.stop->Feed(seq.decoder->Flush());
    text += out.text;
    if (out.matched) {
      reason = FinishReason::kStop;
    } else {
      text += seq.stop->Flush();
    }
  }
  StreamEvent e;
  e.kind = StreamEvent::Kind::kFinished;
  e.text = std::move(text);
  e.finish_reason = reason;
  e.prompt_tokens = seq.prompt_len();
  e.completion_tokens = seq.generated;
  pending_.push_back({seq.stream, std::move(e)});
  finished_.push_back(&seq);
  if (engine_->metrics_ != nullptr) {
    engine_->metrics_->RecordSuccess(reason, Seconds(engine_->clock_->Now() - seq.submitted));
  }
}

void CardWorker::ReleaseLocked(Sequence* seq) {
  free_slots_.push_back(seq->slot);
  // Keep the lowest slot on top: reuse is then deterministic, which makes step logs easy to read.
  std::sort(free_slots_.begin(), free_slots_.end(), std::greater<int>());
  seq->slot = -1;
  running_.erase(std::find_if(running_.begin(), running_.end(), [&](const auto& s) { return s.get() == seq; }));
  if (metrics_ != nullptr) metrics_->SetSlotsUsed(static_cast<int>(running_.size()));
}

void CardWorker::UpdateBusyFractionLocked(Steady::time_point now) {
  constexpr auto kBusyWindow = std::chrono::seconds(10);
  const double busy = busy_seconds_ + (in_run_ ? Seconds(now - run_started_) : 0.0);
  busy_samples_.emplace_back(now, busy);
  while (busy_samples_.size() > 2 && busy_samples_[1].first <= now - kBusyWindow) busy_samples_.pop_front();
  const auto& [t0, busy0] = busy_samples_.front();
  const double wall = Seconds(now - t0);
  if (metrics_ != nullptr && wall > 0) metrics_->SetBusyFraction(std::clamp((busy - busy0) / wall, 0.0, 1.0));
}

void CardWorker::EndAllLocked(const Status& status) {
  while (!running_.empty()) {
    std::shared_ptr<Sequence> seq = running_.back();
    ReleaseLocked(seq.get());
    engine_->EndWithErrorLocked(*seq, status);
  }
  engine_->UpdateGaugesLocked();
}

}  // namespace fpgaserve
