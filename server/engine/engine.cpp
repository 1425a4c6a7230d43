#include "server/engine/engine.h"

#include <algorithm>
#include <functional>
#include <optional>

#include <spdlog/spdlog.h>

#include "base/log_line.h"
#include "server/engine/card_worker.h"
#include "server/engine/engine_metrics.h"
#include "server/engine/sequence.h"

namespace fpgaserve {
namespace {

// How often the housekeeping thread looks for hung steps and abandoned queued sequences (or
// step_timeout / 4 when that is shorter). Short enough that a client that goes away while queued
// is noticed promptly, long enough to cost nothing.
constexpr std::chrono::milliseconds kHousekeepingPeriod{20};

std::string Ms(std::chrono::steady_clock::duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + " ms";
}

double Seconds(Clock::Duration d) { return std::chrono::duration<double>(d).count(); }

// Entries per step on a card: the option, within the card's max_step.
int BudgetOf(const EngineOptions& options, const DeviceInfo& info) {
  return options.step_token_budget > 0 ? std::min(options.step_token_budget, info.max_step) : info.max_step;
}

// The error a sequence has to end with now (cancelled, deadline passed), or OK.
Status CancellationOf(const Sequence& seq, Clock::TimePoint now) {
  if (seq.stream->cancelled()) return Status::Cancelled("the request was cancelled");
  if (now >= seq.request.deadline) {
    return Status::DeadlineExceeded("request timed out after " + Ms(seq.request.deadline - seq.submitted));
  }
  return Status::Ok();
}

}  // namespace

Engine::Engine(const EngineOptions& options, std::shared_ptr<const Tokenizer> tokenizer, EngineMetrics* metrics)
    : options_(options), tokenizer_(std::move(tokenizer)), metrics_(metrics) {}

Result<std::unique_ptr<Engine>> Engine::Create(const EngineOptions& options, std::vector<std::unique_ptr<Device>> cards,
                                               std::shared_ptr<const Tokenizer> tokenizer, EngineMetrics* metrics) {
  if (cards.empty()) return Status::InvalidArgument("the engine needs at least one card");
  if (tokenizer == nullptr) return Status::InvalidArgument("the engine needs a tokenizer");
  if (options.max_queue < 1) return Status::InvalidArgument("max_queue must be at least 1");
  if (options.step_token_budget < 0) return Status::InvalidArgument("step_token_budget must be 0 (the card's) or more");
  if (options.step_timeout.count() <= 0) return Status::InvalidArgument("step_timeout must be positive");
  for (const auto& card : cards) {
    if (card == nullptr) return Status::InvalidArgument("a card is missing");
    if (!(card->info().model == cards[0]->info().model)) {
      return Status::InvalidArgument("card " + card->info().name + " holds another model than card " +
                                     cards[0]->info().name);
    }
  }
  const int vocab = cards[0]->info().model.vocab_size;
  if (tokenizer->vocab_size() != vocab) {
    return Status::InvalidArgument("the tokenizer has " + std::to_string(tokenizer->vocab_size()) +
                                   " tokens; the model has " + std::to_string(vocab));
  }

  std::unique_ptr<Engine> engine(new Engine(options, std::move(tokenizer), metrics));
  engine->clock_ = options.clock != nullptr ? options.clock : RealClock();
  engine->vocab_size_ = vocab;
  engine->context_length_ = cards[0]->info().cache_len;
  {
    // No other thread exists yet; the lock is taken for the analysis, which checks every use of cards_.
    MutexLock lock(&engine->mu_);
    for (auto& device : cards) {
      const DeviceInfo& info = device->info();
      engine->context_length_ = std::min(engine->context_length_, info.cache_len);
      CardMetrics* card_metrics = metrics != nullptr ? metrics->Card(info.name, info.n_slots) : nullptr;
      CardSchedule schedule(BudgetOf(options, info));
      schedule.healthy = device->Healthy();
      for (int slot = info.n_slots - 1; slot >= 0; slot--) schedule.free_slots.push_back(slot);
      if (card_metrics != nullptr) card_metrics->SetHealthy(schedule.healthy);
      engine->cards_.push_back(std::move(schedule));
      engine->workers_.push_back(
          std::make_unique<CardWorker>(engine->workers_.size(), std::move(device), card_metrics));
      engine->in_flight_.push_back(std::make_unique<StepInFlight>());
    }
  }
  for (auto& worker : engine->workers_) worker->Start(engine.get());
  engine->housekeeping_ = std::thread([e = engine.get()] { e->HousekeepingLoop(); });
  return engine;
}

Engine::~Engine() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
    draining_ = true;
    const Status shutdown = Status::Cancelled("the server is shutting down");
    FailQueueLocked(shutdown);
    // A worker between steps ends its own sequences when it sees stopping_; one inside Run may take a
    // while (or, for a hung card, forever), so its sequences end here and the worker exits when Run
    // returns.
    for (size_t i = 0; i < cards_.size(); i++) {
      if (workers_[i]->RunningSince().has_value() && !cards_[i].abandoned) {
        EndAllLocked(i, shutdown);
        cards_[i].abandoned = true;
      }
    }
    housekeeping_stop_ = true;
  }
  work_cv_.notify_all();
  housekeeping_cv_.notify_all();
  if (housekeeping_.joinable()) housekeeping_.join();
  // Blocks while a device is still inside Run: the devices are destroyed with workers_, after this.
  for (auto& worker : workers_) worker->Join();
}

Result<std::shared_ptr<Stream>> Engine::Submit(SequenceRequest request) {
  const int prompt_len = static_cast<int>(request.prompt.size());
  if (prompt_len == 0) return Status::InvalidArgument("the prompt is empty");
  for (int i = 0; i < prompt_len; i++) {
    if (request.prompt[i] < 0 || request.prompt[i] >= vocab_size_) {
      return Status::InvalidArgument("prompt token " + std::to_string(i) + " (" + std::to_string(request.prompt[i]) +
                                     ") is outside the vocabulary of " + std::to_string(vocab_size_));
    }
  }
  if (request.max_tokens < 1) return Status::InvalidArgument("max_tokens must be at least 1");
  if (static_cast<int64_t>(prompt_len) + request.max_tokens > context_length_) {
    return Status::InvalidArgument("the prompt (" + std::to_string(prompt_len) + " tokens) plus max_tokens (" +
                                   std::to_string(request.max_tokens) + ") exceeds the context of " +
                                   std::to_string(context_length_) + " tokens");
  }
  if (Status st = ValidateSamplingParams(request.sampling, vocab_size_); !st.ok()) return st;

  auto seq = std::make_shared<Sequence>();
  seq->seed = request.sampling.seed.has_value() ? *request.sampling.seed : Rng::RandomSeed();
  seq->request = std::move(request);
  seq->stream = std::make_shared<Stream>();
  seq->submitted = clock_->Now();
  {
    MutexLock lock(&mu_);
    if (draining_) return Status::Unavailable("the server is draining and accepts no new requests");
    if (!AnyHealthyCardLocked()) return Status::Unavailable("no healthy card is available");
    if (static_cast<int>(queue_.size()) >= options_.max_queue) {
      return Status::ResourceExhausted("the queue is full (" + std::to_string(queue_.size()) + " sequences waiting)");
    }
    queue_.push_back(seq);
    UpdateGaugesLocked();
  }
  work_cv_.notify_all();
  return seq->stream;
}

void Engine::StartDrain() {
  MutexLock lock(&mu_);
  draining_ = true;
}

bool Engine::Drained() const {
  MutexLock lock(&mu_);
  if (!draining_ || !queue_.empty()) return false;
  for (const CardSchedule& card : cards_) {
    if (!card.running.empty()) return false;
  }
  return true;
}

EngineState Engine::State() const {
  MutexLock lock(&mu_);
  EngineState state;
  state.waiting = static_cast<int>(queue_.size());
  state.draining = draining_;
  for (size_t i = 0; i < cards_.size(); i++) {
    CardState c;
    c.name = workers_[i]->info().name;
    c.healthy = cards_[i].healthy;
    c.slots_total = workers_[i]->info().n_slots;
    c.slots_used = static_cast<int>(cards_[i].running.size());
    c.sensors = cards_[i].sensors;
    state.running += c.slots_used;
    state.cards.push_back(std::move(c));
  }
  return state;
}

Status Engine::FailCard(const std::string& name, const std::string& reason) {
  MutexLock lock(&mu_);
  for (size_t i = 0; i < cards_.size(); i++) {
    if (workers_[i]->info().name != name) continue;
    if (!cards_[i].healthy) return Status::Ok();
    // The worker acts on it with mu_ held at a boundary where it owns its sequences (not between Run and
    // the end of ProcessResults, where failing the card here would pull them from under it).
    if (cards_[i].fail_request.empty()) cards_[i].fail_request = reason;
    work_cv_.notify_all();
    return Status::Ok();
  }
  return Status::NotFound("no card named " + name);
}

void Engine::ReportCardSensors(const std::string& name, const CardSensors& sensors) {
  MutexLock lock(&mu_);
  for (size_t i = 0; i < cards_.size(); i++) {
    if (workers_[i]->info().name == name) cards_[i].sensors = sensors;
  }
}

bool Engine::NextStep(size_t card, Step* step) {
  MutexLock lock(&mu_);
  for (;;) {
    if (!cards_[card].healthy || cards_[card].abandoned) return false;
    if (!cards_[card].fail_request.empty()) {
      FailCardLocked(card, cards_[card].fail_request);
      return false;
    }
    if (stopping_) {
      EndAllLocked(card, Status::Cancelled("the server is shutting down"));
      return false;
    }
    const Clock::TimePoint now = clock_->Now();
    ReapLocked(card, now);
    AdmitLocked(card, now);
    if (cards_[card].running.empty()) {
      work_cv_.wait(lock.native());
      continue;
    }
    PlanStepLocked(card, step);
    // In Run from here on, as far as the watchdog and the destructor can see (they hold mu_ to look).
    workers_[card]->BeginRun(clock_->Now());
    return true;
  }
}

bool Engine::FinishStep(size_t card, const Status& status, float* logits) {
  MutexLock lock(&mu_);
  workers_[card]->EndRun(clock_->Now());
  // Taken out of service while in Run (watchdog, shutdown): its sequences are no longer ours.
  if (cards_[card].abandoned) return false;
  if (!status.ok() || !cards_[card].fail_request.empty()) {
    FailCardLocked(card, status.ok() ? cards_[card].fail_request : status.message());
    return false;
  }
  lock.Unlock();

  ProcessResults(card, logits);

  lock.Lock();
  StepInFlight& flight = *in_flight_[card];
  for (Sequence* seq : flight.finished) ReleaseLocked(card, seq);
  for (Pending& p : flight.pending) p.stream->Push(std::move(p.event));
  flight.pending.clear();
  if (!flight.finished.empty()) {
    flight.finished.clear();
    UpdateGaugesLocked();
    work_cv_.notify_all();  // free slots change where the queue head should go
  }
  return true;
}

void Engine::ReapLocked(size_t card, Clock::TimePoint now) {
  std::vector<std::shared_ptr<Sequence>>& running = cards_[card].running;
  bool changed = false;
  for (size_t i = 0; i < running.size();) {
    Status why = CancellationOf(*running[i], now);
    if (why.ok()) {
      i++;
      continue;
    }
    std::shared_ptr<Sequence> keep = running[i];
    ReleaseLocked(card, keep.get());
    EndWithErrorLocked(*keep, std::move(why));
    changed = true;
  }
  if (changed) {
    UpdateGaugesLocked();
    work_cv_.notify_all();
  }
}

void Engine::AdmitLocked(size_t card, Clock::TimePoint now) {
  CardSchedule& self = cards_[card];
  // The cards' room, for the admission rule; only this card's changes while admitting.
  std::vector<CardRoom> rooms;
  rooms.reserve(cards_.size());
  for (const CardSchedule& c : cards_) {
    rooms.push_back({c.healthy && !c.abandoned, static_cast<int>(c.free_slots.size())});
  }
  bool changed = false;
  bool refused = false;  // the rule sent the queue head to another card
  while (!self.free_slots.empty() && !queue_.empty()) {
    std::shared_ptr<Sequence> seq = queue_.front();
    if (Status why = CancellationOf(*seq, now); !why.ok()) {
      queue_.pop_front();
      EndWithErrorLocked(*seq, std::move(why));
      changed = true;
      continue;
    }
    if (!TakesQueueHead(rooms, card)) {
      refused = true;
      break;
    }
    queue_.pop_front();
    const int slot = self.free_slots.back();
    self.free_slots.pop_back();
    rooms[card].free_slots--;
    seq->Bind(slot, vocab_size_, *tokenizer_);
    if (!seq->admitted_once) {
      seq->admitted_once = true;
      if (metrics_ != nullptr) metrics_->ObserveQueueTime(Seconds(now - seq->submitted));
    }
    self.running.push_back(std::move(seq));
    changed = true;
  }
  if (changed) {
    CardMetrics* card_metrics = workers_[card]->metrics();
    if (card_metrics != nullptr) card_metrics->SetSlotsUsed(static_cast<int>(self.running.size()));
    UpdateGaugesLocked();
  }
  // Admitting changed the cards' room, and a refusal names another card: an idle worker that looked at the
  // queue before (and went back to sleep because this card had more room) must look again, or the queue head
  // would wait for this card's next free slot while it sits idle.
  if (!queue_.empty() && (changed || refused)) work_cv_.notify_all();
}

void Engine::PlanStepLocked(size_t card, Step* step) {
  CardSchedule& self = cards_[card];
  StepInFlight& flight = *in_flight_[card];
  flight.inputs.clear();
  for (const auto& seq : self.running) {
    flight.inputs.push_back({seq->slot, seq->fed, seq->request.prompt, seq->next_token});
  }
  self.planner.Plan(flight.inputs, step, &flight.work);
  flight.planned.clear();
  for (const PlannedWork& w : flight.work)
    flight.planned.push_back({self.running[w.index].get(), w.entries, w.out_row});
}

void Engine::ProcessResults(size_t card, float* logits) {
  StepInFlight& flight = *in_flight_[card];
  const int vocab = vocab_size_;
  const int cache_len = workers_[card]->info().cache_len;
  for (const Planned& p : flight.planned) {
    Sequence& seq = *p.seq;
    seq.fed += p.entries;
    if (p.out_row < 0) continue;
    // The next token would go at position `fed`; the slot ends at cache_len.
    SequenceOutput::Next next = seq.output->OnLogits(logits + static_cast<size_t>(p.out_row) * vocab,
                                                     seq.fed >= cache_len);
    const Clock::TimePoint now = clock_->Now();
    if (metrics_ != nullptr) {
      if (seq.generated() == 1) {
        metrics_->ObserveTimeToFirstToken(Seconds(now - seq.submitted));
        metrics_->AddPromptTokens(seq.prompt_len());
      } else {
        metrics_->ObserveInterTokenLatency(Seconds(now - seq.last_token_time));
      }
      metrics_->AddGenerationTokens(1);
    }
    seq.last_token_time = now;
    seq.next_token = next.token;
    if (next.token_event.has_value()) flight.pending.push_back({seq.stream, std::move(*next.token_event)});
    if (next.final_event.has_value()) {
      if (metrics_ != nullptr) {
        metrics_->RecordSuccess(next.final_event->finish_reason, Seconds(clock_->Now() - seq.submitted));
      }
      flight.pending.push_back({seq.stream, std::move(*next.final_event)});
      flight.finished.push_back(&seq);
    }
  }
}

void Engine::ReleaseLocked(size_t card, Sequence* seq) {
  CardSchedule& self = cards_[card];
  self.free_slots.push_back(seq->slot);
  // Keep the lowest slot on top: reuse is then deterministic, which makes step logs easy to read.
  std::sort(self.free_slots.begin(), self.free_slots.end(), std::greater<int>());
  seq->slot = -1;
  self.running.erase(
      std::find_if(self.running.begin(), self.running.end(), [&](const auto& s) { return s.get() == seq; }));
  CardMetrics* card_metrics = workers_[card]->metrics();
  if (card_metrics != nullptr) card_metrics->SetSlotsUsed(static_cast<int>(self.running.size()));
}

void Engine::EndAllLocked(size_t card, const Status& status) {
  std::vector<std::shared_ptr<Sequence>>& running = cards_[card].running;
  while (!running.empty()) {
    std::shared_ptr<Sequence> seq = running.back();
    ReleaseLocked(card, seq.get());
    EndWithErrorLocked(*seq, status);
  }
  UpdateGaugesLocked();
}

void Engine::HousekeepingLoop() {
  const auto period = std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(options_.step_timeout / 4),
                                 std::chrono::milliseconds(1), kHousekeepingPeriod);
  MutexLock lock(&mu_);
  while (!housekeeping_stop_) {
    clock_->WaitFor(lock.native(), housekeeping_cv_, period, [&] {
      mu_.AssertHeld();  // the wait runs its condition with the lock held
      return housekeeping_stop_;
    });
    if (housekeeping_stop_) break;
    const Clock::TimePoint now = clock_->Now();
    // The watchdog: a worker stuck in Run cannot report anything, so its card is failed from here and
    // its streams get their events now; the worker exits whenever Run returns.
    for (size_t i = 0; i < cards_.size(); i++) {
      const std::optional<Clock::TimePoint> started = workers_[i]->RunningSince();
      if (started.has_value() && !cards_[i].abandoned && now - *started > options_.step_timeout) {
        FailCardLocked(i, "a step did not finish within " + Ms(options_.step_timeout));
      }
    }
    SweepQueueLocked(now);
    for (auto& worker : workers_) worker->UpdateBusyFraction(now);
  }
}

void Engine::EndWithErrorLocked(Sequence& seq, Status status) {
  if (metrics_ != nullptr) metrics_->RecordFailure(status.code());
  seq.stream->Push(seq.ErrorEvent(std::move(status)));
}

void Engine::SweepQueueLocked(Clock::TimePoint now) {
  const size_t before = queue_.size();
  for (auto it = queue_.begin(); it != queue_.end();) {
    if (Status why = CancellationOf(**it, now); !why.ok()) {
      EndWithErrorLocked(**it, std::move(why));
      it = queue_.erase(it);
    } else {
      ++it;
    }
  }
  if (queue_.size() != before) UpdateGaugesLocked();
}

void Engine::FailCardLocked(size_t card, const std::string& reason) {
  CardSchedule& self = cards_[card];
  const CardWorker& worker = *workers_[card];
  if (!self.healthy && self.abandoned) return;
  self.healthy = false;
  if (worker.RunningSince().has_value()) self.abandoned = true;
  if (worker.metrics() != nullptr) worker.metrics()->SetHealthy(false);
  const bool can_requeue = AnyHealthyCardLocked() && !stopping_;
  spdlog::error(LogLine("card failed: out of service", {{"card", worker.info().name},
                                                        {"reason", reason},
                                                        {"sequences", self.running.size()},
                                                        {"requeue_unstreamed", can_requeue}}));
  const Status failure = Status::DeviceFailure("card " + worker.info().name + " failed: " + reason);
  // Backwards, so that pushing each to the front keeps their admission order ahead of the queue.
  for (auto it = self.running.rbegin(); it != self.running.rend(); ++it) {
    Sequence& seq = **it;
    seq.slot = -1;
    if (!seq.emitted() && can_requeue) {
      queue_.push_front(*it);
    } else {
      EndWithErrorLocked(seq, failure);
    }
  }
  self.running.clear();
  self.free_slots.clear();
  if (worker.metrics() != nullptr) worker.metrics()->SetSlotsUsed(0);
  if (!AnyHealthyCardLocked())
    FailQueueLocked(Status::Unavailable("no healthy card is left (" + failure.message() + ")"));
  UpdateGaugesLocked();
  work_cv_.notify_all();
}

void Engine::FailQueueLocked(const Status& status) {
  while (!queue_.empty()) {
    std::shared_ptr<Sequence> seq = std::move(queue_.front());
    queue_.pop_front();
    EndWithErrorLocked(*seq, status);
  }
  UpdateGaugesLocked();
}

bool Engine::AnyHealthyCardLocked() const {
  return std::any_of(cards_.begin(), cards_.end(), [](const CardSchedule& card) { return card.healthy; });
}

void Engine::UpdateGaugesLocked() {
  if (metrics_ == nullptr) return;
  int running = 0;
  for (const CardSchedule& card : cards_) running += static_cast<int>(card.running.size());
  metrics_->SetRunning(running);
  metrics_->SetWaiting(static_cast<int>(queue_.size()));
}

}  // namespace fpgaserve
