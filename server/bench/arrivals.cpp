#include "server/bench/arrivals.h"

#include <cmath>
#include <random>

namespace fpgaserve {

std::vector<double> ArrivalTimes(int n, const ArrivalOptions& options) {
  std::vector<double> times(n > 0 ? n : 0, 0.0);
  if (!(options.rate > 0.0) || std::isinf(options.rate)) return times;
  std::mt19937_64 rng(options.seed);
  // Shape B and scale 1/(R*B) give a mean gap of 1/R whatever the burstiness.
  std::gamma_distribution<double> gap(options.burstiness, 1.0 / (options.rate * options.burstiness));
  double t = 0.0;
  for (int i = 1; i < n; i++) {
    t += gap(rng);
    times[i] = t;
  }
  return times;
}

}  // namespace fpgaserve
