// EngineMetrics: the scheduler's Prometheus metrics, registered in a registry the HTTP layer shares and
// serves at /metrics. Every series carries the label `model`; the per-card ones also `device` (the card's
// name, DeviceInfo::name).
//
// Names defined here (the HTTP layer must not reuse them; it adds its own request counts and errors):
//   fpgaserve_num_requests_running           gauge      sequences holding a KV slot
//   fpgaserve_num_requests_waiting           gauge      sequences queued, not yet on a card
//   fpgaserve_request_success_total          counter    sequences that ended normally, by {finish_reason}
//                                                       ("stop" | "length")
//   fpgaserve_request_failure_total          counter    sequences that ended with an error, by {code}
//                                                       ("cancelled" | "deadline_exceeded" |
//                                                       "device_failure" | "unavailable" | ...)
//   fpgaserve_prompt_tokens_total            counter    prompt tokens prefilled (counted once a prompt's
//                                                       prefill completes)
//   fpgaserve_generation_tokens_total        counter    tokens sampled (EOS included)
//   fpgaserve_time_to_first_token_seconds    histogram  Submit -> first sampled token
//   fpgaserve_inter_token_latency_seconds    histogram  between consecutive sampled tokens of a sequence
//   fpgaserve_e2e_request_latency_seconds    histogram  Submit -> final event, successful sequences
//   fpgaserve_request_queue_time_seconds     histogram  Submit -> first admission to a card
//   fpgaserve_card_busy_seconds_total        counter    {device} wall time spent inside Device::Run
//   fpgaserve_card_busy_fraction             gauge      {device} busy time / wall time over the last 10 s
//   fpgaserve_card_step_batch_size           histogram  {device} entries (tokens) per step
//   fpgaserve_card_kv_slots_used             gauge      {device} KV slots holding a sequence
//   fpgaserve_card_kv_slots_total            gauge      {device} KV slots of the card
//   fpgaserve_card_healthy                   gauge      {device} 1 while the card is in use, 0 once failed
// "request" in these names means one sequence (one OpenAI choice), as in vLLM's metrics of the same names.
//
// Threading: every method is thread-safe (prometheus-cpp metrics are atomic or locked internally).
// Lifetime: the registry must outlive this object; CardMetrics pointers live as long as this object.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "base/mutex.h"
#include "base/status.h"
#include "base/thread_annotations.h"

namespace fpgaserve {

enum class FinishReason;  // engine.h

// The series of one card (EngineMetrics::Card makes them).
class CardMetrics {
 public:
  struct Series {
    prometheus::Gauge* healthy;
    prometheus::Gauge* slots_used;
    prometheus::Gauge* slots_total;
    prometheus::Histogram* batch_size;
    prometheus::Counter* busy_seconds;
    prometheus::Gauge* busy_fraction;
  };
  explicit CardMetrics(const Series& series) : s_(series) {}

  void SetHealthy(bool healthy) { s_.healthy->Set(healthy ? 1.0 : 0.0); }
  void SetSlotsUsed(int used) { s_.slots_used->Set(used); }
  void SetSlotsTotal(int total) { s_.slots_total->Set(total); }
  // One step ran: its entries and the time spent in Device::Run.
  void ObserveStep(int entries, double seconds) {
    s_.batch_size->Observe(entries);
    s_.busy_seconds->Increment(seconds);
  }
  void SetBusyFraction(double fraction) { s_.busy_fraction->Set(fraction); }

 private:
  const Series s_;
};

class EngineMetrics {
 public:
  EngineMetrics(prometheus::Registry& registry, const std::string& model);

  // The series of card `device` (created on first call, the same object for the same name afterwards;
  // slots_total is set each time). The pointer stays valid for the life of this object.
  CardMetrics* Card(const std::string& device, int slots_total) EXCLUDES(cards_mu_);

  void SetRunning(int n) { running_->Set(n); }
  void SetWaiting(int n) { waiting_->Set(n); }
  void ObserveQueueTime(double seconds) { queue_time_->Observe(seconds); }
  void ObserveTimeToFirstToken(double seconds) { ttft_->Observe(seconds); }
  void ObserveInterTokenLatency(double seconds) { itl_->Observe(seconds); }
  void AddPromptTokens(int n) { prompt_tokens_->Increment(n); }
  void AddGenerationTokens(int n) { generation_tokens_->Increment(n); }
  // A sequence ended normally after `e2e_seconds`.
  void RecordSuccess(FinishReason reason, double e2e_seconds);
  // A sequence ended with an error (or never started: queue failures count too).
  void RecordFailure(StatusCode code);

 private:
  const std::string model_;
  prometheus::Gauge* running_;
  prometheus::Gauge* waiting_;
  prometheus::Family<prometheus::Counter>& success_;
  prometheus::Family<prometheus::Counter>& failure_;
  prometheus::Counter* prompt_tokens_;
  prometheus::Counter* generation_tokens_;
  prometheus::Histogram* ttft_;
  prometheus::Histogram* itl_;
  prometheus::Histogram* e2e_;
  prometheus::Histogram* queue_time_;
  // Per-card families.
  prometheus::Family<prometheus::Counter>& card_busy_seconds_;
  prometheus::Family<prometheus::Gauge>& card_busy_fraction_;
  prometheus::Family<prometheus::Histogram>& card_batch_size_;
  prometheus::Family<prometheus::Gauge>& card_slots_used_;
  prometheus::Family<prometheus::Gauge>& card_slots_total_;
  prometheus::Family<prometheus::Gauge>& card_healthy_;
  Mutex cards_mu_;
  std::vector<std::pair<std::string, std::unique_ptr<CardMetrics>>> cards_ GUARDED_BY(cards_mu_);
};

}  // namespace fpgaserve
