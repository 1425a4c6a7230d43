// Raising the process's open-file limit. Every socket is a descriptor: the load generator with 1,000 streams,
// and the server with its connection cap, need more than the usual soft limit of 1,024. The soft limit may be
// raised up to the hard limit without privileges.
#pragma once

#include <string>

namespace fpgaserve {

struct OpenFileLimit {
  long soft = 0;  // after raising
  long hard = 0;
  std::string warning;  // non-empty when `wanted` could not be reached: says how many streams fit
};

// Raises RLIMIT_NOFILE's soft limit to `wanted` (descriptors), or as far as the hard limit allows.
// Affects the whole process.
OpenFileLimit RaiseOpenFileLimit(long wanted);

}  // namespace fpgaserve
