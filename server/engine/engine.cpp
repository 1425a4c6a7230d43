#include "server/engine/engine.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "base/log_line.h"
#include "server/engine/card_worker.h"
#include "server/engine/engine_metrics.h"
#include "server/engine/sequence.h"

namespace fpgaserve {
namespace {

using Steady = std::chrono::steady_clock;

// How often the housekeeping thread looks for hung steps and abandoned queued sequences (or
// step_timeout / 4 when that is shorter). Short enough that a client that goes away while queued
// is noticed promptly, long enough to cost nothing.
constexpr std::chrono::milliseconds kHousekeepingPeriod{20};

std::string Ms(std::chrono::steady_clock::duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + " ms";
}

}  // namespace

Engine::Engine(const EngineOptions& options, std::shared_ptr<const Tokenizer> tokenizer, EngineMetrics* metrics)
    : options_(options), tokenizer_(std::move(tokenizer)), metrics_(metrics) {}

Result<std::unique_ptr<Engine>> Engine::Create(const EngineOptions& options,
                                               std::vector<std::unique_ptr<Device>> cards,
                                               std::shared_ptr<const Tokenizer> tokenizer,
                                               EngineMetrics* metrics) {
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
  for (auto& device : cards) {
    const DeviceInfo& info = device->info();
    engine->context_length_ = std::min(engine->context_length_, info.cache_len);
    CardMetrics* card_metrics = metrics != nullptr ? metrics->Card(info.name, info.n_slots) : nullptr;
    auto card = std::make_unique<CardWorker>(engine.get(), std::move(device), card_metrics);
    card->healthy_ = card->device_->Healthy();
    if (card_metrics != nullptr) card_metrics->SetHealthy(card->healthy_);
    engine->cards_.push_back(std::move(card));
  }
  for (auto& card : engine->cards_) card->Start();
  engine->housekeeping_ = std::thread([e = engine.get()] { e->HousekeepingLoop(); });
  return engine;
}

Engine::~Engine() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    draining_ = true;
    const Status shutdown = Status::Cancelled("the server is shutting down");
    FailQueueLocked(shutdown);
    // A worker between steps ends its own sequences when it sees stopping_; one inside Run may take a
    // while (or, for a hung card, forever), so its sequences end here and the worker exits when Run
    // returns.
    for (auto& card : cards_) {
      if (card->in_run_ && !card->abandoned_) {
        card->EndAllLocked(shutdown);
        card->abandoned_ = true;
      }
    }
    housekeeping_stop_ = true;
  }
  work_cv_.notify_all();
  housekeeping_cv_.notify_all();
  if (housekeeping_.joinable()) housekeeping_.join();
  // Blocks while a device is still inside Run: the devices are destroyed with cards_, after this.
  for (auto& card : cards_) card->Join();
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
    std::lock_guard<std::mutex> lock(mu_);
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
  std::lock_guard<std::mutex> lock(mu_);
  draining_ = true;
}

bool Engine::Drained() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!draining_ || !queue_.empty()) return false;
  for (const auto& card : cards_) {
    if (!card->running_.empty()) return false;
  }
  return true;
}

EngineState Engine::State() const {
  std::lock_guard<std::mutex> lock(mu_);
  EngineState state;
  state.waiting = static_cast<int>(queue_.size());
  state.draining = draining_;
  for (const auto& card : cards_) {
    CardState c;
    c.name = card->info().name;
    c.healthy = card->healthy_;
    c.slots_total = card->info().n_slots;
    c.slots_used = static_cast<int>(card->running_.size());
    c.sensors = card->sensors_;
    state.running += c.slots_used;
    state.cards.push_back(std::move(c));
  }
  return state;
}

Status Engine::FailCard(const std::string& name, const std::string& reason) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& card : cards_) {
    if (card->info().name != name) continue;
    if (!card->healthy_) return Status::Ok();
    // The worker acts on it with mu_ held at a boundary where it owns its sequences (not between Run and
    // the end of ProcessResults, where failing the card here would pull them from under it).
    if (card->fail_request_.empty()) card->fail_request_ = reason;
    work_cv_.notify_all();
    return Status::Ok();
  }
  return Status::NotFound("no card named " + name);
}

void Engine::ReportCardSensors(const std::string& name, const CardSensors& sensors) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& card : cards_) {
    if (card->info().name == name) card->sensors_ = sensors;
  }
}

void Engine::HousekeepingLoop() {
  const auto period = std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(options_.step_timeout / 4),
                                 std::chrono::milliseconds(1), kHousekeepingPeriod);
  std::unique_lock<std::mutex> lock(mu_);
  while (!housekeeping_stop_) {
    clock_->WaitFor(lock, housekeeping_cv_, period, [&] { return housekeeping_stop_; });
    if (housekeeping_stop_) break;
    const Steady::time_point now = clock_->Now();
    // The watchdog: a worker stuck in Run cannot report anything, so its card is failed from here and
    // its streams get their events now; the worker exits whenever Run returns.
    for (auto& card : cards_) {
      if (card->in_run_ && !card->abandoned_ && now - card->run_started_ > options_.step_timeout) {
        FailCardLocked(*card, "a step did not finish within " + Ms(options_.step_timeout));
      }
    }
    SweepQueueLocked(now);
    for (auto& card : cards_) card->UpdateBusyFractionLocked(now);
  }
}

Status Engine::CancellationOf(const Sequence& seq, Steady::time_point now) const {
  if (seq.stream->cancelled()) return Status::Cancelled("the request was cancelled");
  if (now >= seq.request.deadline) {
    return Status::DeadlineExceeded("request timed out after " + Ms(seq.request.deadline - seq.submitted));
  }
  return Status::Ok();
}

void Engine::EndWithErrorLocked(Sequence& seq, Status status) {
  if (metrics_ != nullptr) metrics_->RecordFailure(status.code());
  seq.stream->Push(seq.ErrorEvent(std::move(status)));
}

void Engine::SweepQueueLocked(Steady::time_point now) {
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

void Engine::FailCardLocked(CardWorker& card, const std::string& reason) {
  if (!card.healthy_ && card.abandoned_) return;
  card.healthy_ = false;
  if (card.in_run_) card.abandoned_ = true;
  if (card.metrics_ != nullptr) card.metrics_->SetHealthy(false);
  const bool can_requeue = AnyHealthyCardLocked() && !stopping_;
  spdlog::error(LogLine("card failed: out of service", {{"card", card.info().name},
                                                       {"reason", reason},
                                                       {"sequences", card.running_.size()},
                                                       {"requeue_unstreamed", can_requeue}}));
  const Status failure = Status::DeviceFailure("card " + card.info().name + " failed: " + reason);
  // Backwards, so that pushing each to the front keeps their admission order ahead of the queue.
  for (auto it = card.running_.rbegin(); it != card.running_.rend(); ++it) {
    Sequence& seq = **it;
    seq.slot = -1;
    if (!seq.emitted && can_requeue) {
      queue_.push_front(*it);
    } else {
      EndWithErrorLocked(seq, failure);
    }
  }
  card.running_.clear();
  card.free_slots_.clear();
  if (card.metrics_ != nullptr) card.metrics_->SetSlotsUsed(0);
  if (!AnyHealthyCardLocked()) FailQueueLocked(Status::Unavailable("no healthy card is left (" + failure.message() + ")"));
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
  return std::any_of(cards_.begin(), cards_.end(), [](const auto& card) { return card->healthy_; });
}

void Engine::UpdateGaugesLocked() {
  if (metrics_ == nullptr) return;
  int running = 0;
  for (const auto& card : cards_) running += static_cast<int>(card->running_.size());
  metrics_->SetRunning(running);
  metrics_->SetWaiting(static_cast<int>(queue_.size()));
}

}  // namespace fpgaserve
