// Start-up memory checks: before a large allocation (the weights image, a simulated card's KV cache), the
// bytes it needs are compared with what the machine can give, so an option set too high ends with a message
// naming the bytes and the option to change instead of "terminate called ... std::bad_alloc" (or the OOM
// killer later, since untouched pages of a big new[] are only committed as they fill).
//
// "Available" is /proc/meminfo's MemAvailable (what can be allocated without swapping), further bounded by
// the cgroup v2 memory limit of this process when there is one (a container's memory.max - memory.current).
// Thread-safe: no state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "base/status.h"

namespace fpgaserve {

// The bytes this process can still allocate, or nullopt when the system does not say (no /proc/meminfo):
// callers then skip the check and rely on catching std::bad_alloc.
std::optional<uint64_t> AvailableMemoryBytes();

// a * b, or nullopt when it does not fit in 64 bits (a size that large is never available).
std::optional<uint64_t> CheckedMultiply(uint64_t a, uint64_t b);

// OK when `needed_bytes` fits in `available_bytes` (or when available is nullopt: unknown). Otherwise
// ResourceExhausted: "<what> needs <needed> bytes (<GiB>), but the machine has <available> bytes (<GiB>)
// available; <hint>". A needed size that overflowed (nullopt) always fails. `hint` names the option to change.
Status CheckMemory(const std::string& what, std::optional<uint64_t> needed_bytes,
                   std::optional<uint64_t> available_bytes, const std::string& hint);

// "1.50 GiB", "12.0 MiB", "512 bytes": for messages.
std::string FormatBytes(uint64_t bytes);

}  // namespace fpgaserve
