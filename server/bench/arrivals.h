// When each request of a run is sent: the arrival process of `bench serve --rate R --burstiness B`.
//
// Gaps between requests are gamma-distributed with shape B and mean 1/R (vLLM's definition): B = 1 is a
// Poisson process, B < 1 burstier, B > 1 more regular. An infinite rate sends everything at time 0.
#pragma once

#include <cstdint>
#include <vector>

namespace fpgaserve {

struct ArrivalOptions {
  double rate = 0.0;        // requests per second; infinity (or <= 0) means all at once
  double burstiness = 1.0;  // gamma shape; > 0
  uint64_t seed = 0;        // same seed, same schedule
};

// Send times in seconds after the start of the run, non-decreasing, the first at 0.
// REQUIRES: burstiness > 0.
std::vector<double> ArrivalTimes(int n, const ArrivalOptions& options);

}  // namespace fpgaserve
