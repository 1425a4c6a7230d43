#include "base/status.h"

#include <cstdio>
#include <cstdlib>

namespace fpgaserve::status_internal {

void Die(const char* what, const Status* status) {
  if (status != nullptr) {
    std::fprintf(stderr, "fpgaserve: %s: %s\n", what, status->ToString().c_str());
  } else {
    std::fprintf(stderr, "fpgaserve: %s\n", what);
  }
  std::fflush(stderr);
  std::abort();
}

}  // namespace fpgaserve::status_internal
