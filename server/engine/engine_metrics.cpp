#include "server/engine/engine_metrics.h"

#include "server/engine/engine.h"

namespace fpgaserve {
namespace {

using prometheus::Histogram;

// Latencies of a small model on a card span a millisecond (one decode step) to minutes (a long
// generation behind a full queue).
const Histogram::BucketBoundaries& LatencyBuckets() {
  static const Histogram::BucketBoundaries kBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                       1,     2.5,    5,     10,   20,    40,   80,  160};
  return kBuckets;
}
const Histogram::BucketBoundaries& InterTokenBuckets() {
  static const Histogram::BucketBoundaries kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.04,
                                                       0.08,   0.16,  0.32,   0.64,  1.28, 2.56};
  return kBuckets;
}
const Histogram::BucketBoundaries& BatchBuckets() {
  static const Histogram::BucketBoundaries kBuckets = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512};
  return kBuckets;
}

// "deadline exceeded" -> "deadline_exceeded": a label value without spaces.
std::string CodeLabel(StatusCode code) {
  std::string s = StatusCodeName(code);
  for (char& c : s) c = c == ' ' ? '_' : c;
  return s;
}

}  // namespace

EngineMetrics::EngineMetrics(prometheus::Registry& registry, const std::string& model)
    : model_(model),
      running_(&prometheus::BuildGauge()
                    .Name("fpgaserve_num_requests_running")
                    .Help("Sequences holding a KV slot on a card")
                    .Register(registry)
                    .Add({{"model", model}})),
      waiting_(&prometheus::BuildGauge()
                    .Name("fpgaserve_num_requests_waiting")
                    .Help("Sequences queued, waiting for a KV slot")
                    .Register(registry)
                    .Add({{"model", model}})),
      success_(prometheus::BuildCounter()
                   .Name("fpgaserve_request_success_total")
                   .Help("Sequences that ended normally, by finish reason")
                   .Register(registry)),
      failure_(prometheus::BuildCounter()
                   .Name("fpgaserve_request_failure_total")
                   .Help("Sequences that ended with an error, by status code")
                   .Register(registry)),
      prompt_tokens_(&prometheus::BuildCounter()
                          .Name("fpgaserve_prompt_tokens_total")
                          .Help("Prompt tokens prefilled")
                          .Register(registry)
                          .Add({{"model", model}})),
      generation_tokens_(&prometheus::BuildCounter()
                              .Name("fpgaserve_generation_tokens_total")
                              .Help("Tokens generated")
                              .Register(registry)
                              .Add({{"model", model}})),
      ttft_(&prometheus::BuildHistogram()
                 .Name("fpgaserve_time_to_first_token_seconds")
                 .Help("Time from submission to the first generated token")
                 .Register(registry)
                 .Add({{"model", model}}, LatencyBuckets())),
      itl_(&prometheus::BuildHistogram()
                .Name("fpgaserve_inter_token_latency_seconds")
                .Help("Time between consecutive generated tokens of a sequence")
                .Register(registry)
                .Add({{"model", model}}, InterTokenBuckets())),
      e2e_(&prometheus::BuildHistogram()
                .Name("fpgaserve_e2e_request_latency_seconds")
                .Help("Time from submission to the end of a successful sequence")
                .Register(registry)
                .Add({{"model", model}}, LatencyBuckets())),
      queue_time_(&prometheus::BuildHistogram()
                       .Name("fpgaserve_request_queue_time_seconds")
                       .Help("Time from submission to admission on a card")
                       .Register(registry)
                       .Add({{"model", model}}, LatencyBuckets())),
      card_busy_seconds_(prometheus::BuildCounter()
                             .Name("fpgaserve_card_busy_seconds_total")
                             .Help("Wall time the card spent running steps")
                             .Register(registry)),
      card_busy_fraction_(prometheus::BuildGauge()
                              .Name("fpgaserve_card_busy_fraction")
                              .Help("Fraction of the last 10 seconds the card spent running steps")
                              .Register(registry)),
      card_batch_size_(prometheus::BuildHistogram()
                           .Name("fpgaserve_card_step_batch_size")
                           .Help("Entries (tokens) per step")
                           .Register(registry)),
      card_slots_used_(prometheus::BuildGauge()
                           .Name("fpgaserve_card_kv_slots_used")
                           .Help("KV slots holding a sequence")
                           .Register(registry)),
      card_slots_total_(prometheus::BuildGauge()
                            .Name("fpgaserve_card_kv_slots_total")
                            .Help("KV slots of the card")
                            .Register(registry)),
      card_healthy_(prometheus::BuildGauge()
                        .Name("fpgaserve_card_healthy")
                        .Help("1 while the card is in use, 0 once it has failed")
                        .Register(registry)) {}

CardMetrics* EngineMetrics::Card(const std::string& device, int slots_total) {
  MutexLock lock(&cards_mu_);
  CardMetrics* card = nullptr;
  for (auto& [name, metrics] : cards_) {
    if (name == device) card = metrics.get();
  }
  if (card == nullptr) {
    const prometheus::Labels labels = {{"model", model_}, {"device", device}};
    auto fresh = std::make_unique<CardMetrics>(CardMetrics::Series{
        .healthy = &card_healthy_.Add(labels),
        .slots_used = &card_slots_used_.Add(labels),
        .slots_total = &card_slots_total_.Add(labels),
        .batch_size = &card_batch_size_.Add(labels, BatchBuckets()),
        .busy_seconds = &card_busy_seconds_.Add(labels),
        .busy_fraction = &card_busy_fraction_.Add(labels),
    });
    card = fresh.get();
    cards_.emplace_back(device, std::move(fresh));
  }
  card->SetSlotsTotal(slots_total);
  card->SetHealthy(true);
  return card;
}

void EngineMetrics::RecordSuccess(FinishReason reason, double e2e_seconds) {
  success_.Add({{"model", model_}, {"finish_reason", FinishReasonName(reason)}}).Increment();
  e2e_->Observe(e2e_seconds);
}

void EngineMetrics::RecordFailure(StatusCode code) {
  failure_.Add({{"model", model_}, {"code", CodeLabel(code)}}).Increment();
}

}  // namespace fpgaserve
