#include "base/memory_check.h"

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "base/parse_number.h"

namespace fpgaserve {
namespace {

// One unsigned number from the first line of `path` ("max" or an unreadable file: nullopt).
std::optional<uint64_t> ReadNumberFile(const std::string& path) {
  std::ifstream in(path);
  std::string word;
  if (!(in >> word)) return std::nullopt;
  return ParseUint64(word);  // out of range: no meaningful limit
}

std::optional<uint64_t> MemAvailable() {
  std::ifstream in("/proc/meminfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("MemAvailable:", 0) != 0) continue;
    std::istringstream fields(line.substr(13));
    uint64_t kib = 0;
    if (fields >> kib) return kib * 1024;
  }
  return std::nullopt;
}

// memory.max - memory.current of this process's cgroup (v2), when it has a limit.
std::optional<uint64_t> CgroupHeadroom() {
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("0::", 0) != 0) continue;  // the v2 hierarchy's line: "0::/path"
    const std::string dir = "/sys/fs/cgroup" + line.substr(3);
    const std::optional<uint64_t> max = ReadNumberFile(dir + "/memory.max");
    const std::optional<uint64_t> current = ReadNumberFile(dir + "/memory.current");
    if (!max || !current) return std::nullopt;
    return *max > *current ? *max - *current : 0;
  }
  return std::nullopt;
}

}  // namespace

std::optional<uint64_t> AvailableMemoryBytes() {
  std::optional<uint64_t> available = MemAvailable();
  const std::optional<uint64_t> cgroup = CgroupHeadroom();
  if (cgroup && (!available || *cgroup < *available)) available = cgroup;
  return available;
}

std::optional<uint64_t> CheckedMultiply(uint64_t a, uint64_t b) {
  uint64_t product = 0;
  if (__builtin_mul_overflow(a, b, &product)) return std::nullopt;
  return product;
}

std::string FormatBytes(uint64_t bytes) {
  char text[64];
  const double b = static_cast<double>(bytes);
  if (bytes >= (1ull << 30)) {
    std::snprintf(text, sizeof(text), "%.2f GiB", b / (1ull << 30));
  } else if (bytes >= (1ull << 20)) {
    std::snprintf(text, sizeof(text), "%.1f MiB", b / (1ull << 20));
  } else {
    std::snprintf(text, sizeof(text), "%llu bytes", static_cast<unsigned long long>(bytes));
  }
  return text;
}

Status CheckMemory(const std::string& what, std::optional<uint64_t> needed_bytes,
                   std::optional<uint64_t> available_bytes, const std::string& hint) {
  if (!needed_bytes) {
    return Status::ResourceExhausted(what + " needs more than 2^64 bytes; " + hint);
  }
  if (!available_bytes || *needed_bytes <= *available_bytes) return Status::Ok();
  return Status::ResourceExhausted(what + " needs " + std::to_string(*needed_bytes) + " bytes (" +
                                   FormatBytes(*needed_bytes) + "), but the machine has " +
                                   std::to_string(*available_bytes) + " bytes (" + FormatBytes(*available_bytes) +
                                   ") available; " + hint);
}

}  // namespace fpgaserve
