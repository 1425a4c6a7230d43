#include "base/open_file_limit.h"

#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace fpgaserve {

OpenFileLimit RaiseOpenFileLimit(long wanted) {
  OpenFileLimit result;
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) {
    result.warning = std::string("cannot read the open-file limit: ") + std::strerror(errno);
    return result;
  }
  const bool unlimited = lim.rlim_max == RLIM_INFINITY;
  if (lim.rlim_cur != RLIM_INFINITY && static_cast<long>(lim.rlim_cur) < wanted) {
    lim.rlim_cur = unlimited ? static_cast<rlim_t>(wanted)
                             : std::min<rlim_t>(lim.rlim_max, static_cast<rlim_t>(wanted));
    setrlimit(RLIMIT_NOFILE, &lim);  // on failure the limit stays where it was and the check below says so
    getrlimit(RLIMIT_NOFILE, &lim);
  }
  result.soft = lim.rlim_cur == RLIM_INFINITY ? wanted : static_cast<long>(lim.rlim_cur);
  result.hard = unlimited ? -1 : static_cast<long>(lim.rlim_max);
  if (result.soft < wanted) {
    result.warning =
        "the open-file limit is " + std::to_string(result.soft) + " (hard limit " + std::to_string(result.hard) +
        ") but this run wants " + std::to_string(wanted) + ": about " + std::to_string(std::max(0L, result.soft - 64)) +
        " streams fit, the rest will fail as connection errors; raise the hard limit (ulimit -Hn, limits.conf)";
  }
  return result;
}

}  // namespace fpgaserve
