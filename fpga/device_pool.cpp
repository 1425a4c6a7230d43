#include "fpga/device_pool.h"

#include <algorithm>
#include <charconv>
#include <string_view>
#include <thread>

#include "base/memory_check.h"
#include "base/parse_number.h"
#include "fpga/sim_card.h"
#ifdef FPGASERVE_HAVE_XRT
#include "fpga/xrt_card.h"
#endif

namespace fpgaserve {
namespace {

bool ParseInt(std::string_view s, int* out) {
  const std::optional<int64_t> v = ParseInt64(s);
  if (!v || *v < INT32_MIN || *v > INT32_MAX) return false;
  *out = static_cast<int>(*v);
  return true;
}

#ifdef FPGASERVE_HAVE_XRT
std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); i++) {
    if (i == s.size() || s[i] == sep) {
      parts.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return parts;
}
#endif

}  // namespace

Result<std::vector<std::unique_ptr<Device>>> OpenDevices(const std::string& spec,
                                                         const std::shared_ptr<const WeightsImage>& image,
                                                         const DevicePoolOptions& options) {
  std::vector<std::unique_ptr<Device>> cards;
  const std::string usage =
      "a device spec is sim:N (N simulated cards) or xrt:I[,xrt:J...] (XRT cards by index or BDF)";
  if (spec.rfind("sim:", 0) == 0) {
    int n = 0;
    if (!ParseInt(std::string_view(spec).substr(4), &n) || n < 1 || n > 64) {
      return Status::InvalidArgument("'" + spec + "': " + usage + ", with 1 <= N <= 64");
    }
    const int cores = std::max(1u, std::thread::hardware_concurrency());
    // Every card's whole cache, before the first is allocated (each alone may fit where all do not).
    SimCardOptions shape;
    shape.n_slots = options.n_slots;
    shape.cache_len = options.cache_len;
    if (options.n_slots > 0 && options.cache_len >= 0) {
      if (Status st = SimCard::CheckKvCacheFits(image->config(), shape, n, AvailableMemoryBytes()); !st.ok()) {
        return st;
      }
    }
    for (int i = 0; i < n; i++) {
      SimCardOptions o;
      o.name = "sim" + std::to_string(i);
      o.n_slots = options.n_slots;
      o.cache_len = options.cache_len;
      o.threads = options.sim_threads;  // 0: automatic, by model size, within this card's share of cores
      o.auto_thread_cap = std::max(1, cores / n);
      auto card = SimCard::Create(image, o);
      if (!card.ok()) return card.status();
      cards.push_back(std::move(card.value()));
    }
    return cards;
  }
  if (spec.rfind("xrt:", 0) == 0) {
#ifdef FPGASERVE_HAVE_XRT
    for (std::string_view part : Split(spec, ',')) {
      if (part.rfind("xrt:", 0) != 0 || part.size() == 4) return Status::InvalidArgument("'" + spec + "': " + usage);
      XrtCardOptions o;
      o.device = std::string(part.substr(4));
      o.xclbin = options.xclbin;
      o.n_slots = options.n_slots;
      o.cache_len = options.cache_len;
      o.timeout_ms = options.xrt_timeout_ms;
      auto card = XrtCard::Open(image, o);
      if (!card.ok()) return card.status();
      cards.push_back(std::move(card.value()));
    }
    return cards;
#else
    return Status::Unavailable("'" + spec + "': this fpgaserve was built without XRT (install libxrt-dev and rebuild)");
#endif
  }
  return Status::InvalidArgument("'" + spec + "': " + usage);
}

}  // namespace fpgaserve
