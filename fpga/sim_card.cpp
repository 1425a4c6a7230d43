#include "fpga/sim_card.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#include <algorithm>
#include <new>
#include <thread>

#include "base/memory_check.h"
#include "fpga/kernel_limits.h"
#include "fpga/step_input.h"
#include "kernel/kernel.h"

namespace fpgaserve {
namespace {
// The kernel's local buffers with the host build's maxima take about 12 MB; leave room for ASan.
constexpr size_t kCardStackBytes = 256u << 20;

int CacheLen(const ModelConfig& c, const SimCardOptions& options) {
  return options.cache_len > 0 ? options.cache_len : c.seq_len;
}

}  // namespace

std::optional<uint64_t> SimCard::KvCacheBytes(const ModelConfig& c, const SimCardOptions& options) {
  const uint64_t kv_values_per_slot = static_cast<uint64_t>(c.n_layers) * CacheLen(c, options) * c.n_kv_heads *
                                      kernel::KvHeadStride(c.head_size());
  // keys and values
  const std::optional<uint64_t> per_card = CheckedMultiply(kv_values_per_slot, static_cast<uint64_t>(options.n_slots));
  if (!per_card) return std::nullopt;
  return CheckedMultiply(*per_card, 2 * sizeof(kernel::KvValue));
}

Status SimCard::CheckKvCacheFits(const ModelConfig& c, const SimCardOptions& options, int n_cards,
                                 std::optional<uint64_t> available) {
  const std::optional<uint64_t> per_card = KvCacheBytes(c, options);
  const std::optional<uint64_t> all = per_card ? CheckedMultiply(*per_card, static_cast<uint64_t>(n_cards))
                                               : std::nullopt;
  const std::string what = "the KV cache of " + std::to_string(n_cards) + " simulated card" +
                           (n_cards == 1 ? "" : "s") + " (" + std::to_string(options.n_slots) + " slots of " +
                           std::to_string(CacheLen(c, options)) + " tokens each)";
  return CheckMemory(what, all, available, "lower --kv-slots (KV slots per card) or --cache-len (tokens per slot)");
}

Result<std::unique_ptr<SimCard>> SimCard::Create(std::shared_ptr<const WeightsImage> image,
                                                 const SimCardOptions& options) {
  const ModelConfig& c = image->config();
  const int cache_len = CacheLen(c, options);
  if (options.n_slots <= 0) return Status::InvalidArgument("a card needs at least one KV slot");
  if (Status st = KernelLimits::Compiled().Check(c, cache_len, "the simulated card"); !st.ok()) return st;
  // The cache's pages are committed as slots fill, but a full cache must fit: check before new[].
  if (Status st = CheckKvCacheFits(c, options, 1, AvailableMemoryBytes()); !st.ok()) return st;

  std::unique_ptr<SimCard> card(new SimCard());
  card->image_ = std::move(image);
  card->info_.name = options.name;
  card->info_.model = c;
  card->info_.n_slots = options.n_slots;
  card->info_.cache_len = cache_len;
  card->info_.max_step = kernel::kMaxStep;
  const uint64_t kv_values_per_slot = static_cast<uint64_t>(c.n_layers) * cache_len * c.n_kv_heads *
                                      kernel::KvHeadStride(c.head_size());
  card->info_.kv_bytes_per_slot = 2 * kv_values_per_slot * sizeof(kernel::KvValue);
  card->kernel_ = options.kernel != nullptr ? options.kernel : &fpgaserve_host_step;
  if (options.threads > 0) {
    card->threads_ = options.threads;
  } else {
    const int cores = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
    const int cap = options.auto_thread_cap > 0 ? std::min(options.auto_thread_cap, cores) : cores;
    const uint64_t per_thread = 8ull << 20;
    card->threads_ = static_cast<int>(std::clamp<uint64_t>(card->image_->total_bytes() / per_thread, 1, cap));
  }
  const size_t cache_values = static_cast<size_t>(kv_values_per_slot) * options.n_slots;
  // new[] of a plain type leaves the pages untouched: a large cache costs memory only as slots fill.
  try {
    card->k_cache_.reset(new kernel::KvValue[cache_values]);
    card->v_cache_.reset(new kernel::KvValue[cache_values]);
  } catch (const std::bad_alloc&) {
    return Status::ResourceExhausted("the KV cache of " + options.name + " (" +
                                     FormatBytes(KvCacheBytes(c, options).value_or(0)) +
                                     ") could not be allocated; lower --kv-slots or --cache-len");
  }

  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, kCardStackBytes);
  const int rc = pthread_create(&card->thread_, &attr, &SimCard::ThreadMain, card.get());
  pthread_attr_destroy(&attr);
  if (rc != 0) return Status::Internal("could not start the thread of " + options.name);
  card->thread_started_ = true;
  return card;
}

SimCard::~SimCard() {
  if (!thread_started_) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  pthread_join(thread_, nullptr);
}

void* SimCard::ThreadMain(void* self) {
  static_cast<SimCard*>(self)->Loop();
  return nullptr;
}

void SimCard::Loop() {
#ifdef _OPENMP
  omp_set_num_threads(threads_);
#endif
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stopping_ || job_input_ != nullptr; });
    if (stopping_) return;
    const std::vector<uint8_t>& input = *job_input_;
    const int n = job_entries_;
    lock.unlock();
    kernel_(image_->ports(), k_cache_.get(), v_cache_.get(), input.data(), job_logits_, n, info_.n_slots,
            info_.cache_len);
    lock.lock();
    job_input_ = nullptr;
    job_done_ = true;
    cv_.notify_all();
  }
}

Status SimCard::Run(const Step& step, float* logits) {
  if (Status st = ValidateStep(step, info_); !st.ok()) return st;
  const std::vector<uint8_t> input = BuildStepInput(step, info_.model);
  std::unique_lock<std::mutex> lock(mu_);
  job_input_ = &input;
  job_entries_ = static_cast<int>(step.entries.size());
  job_logits_ = logits;
  job_done_ = false;
  cv_.notify_all();
  cv_.wait(lock, [&] { return job_done_; });
  return Status::Ok();
}

}  // namespace fpgaserve
