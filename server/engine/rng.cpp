#include "server/engine/rng.h"

#include <random>

namespace fpgaserve {

uint64_t Rng::RandomSeed() {
  // A local random_device: no object shared between threads, and a seed is drawn once per request.
  std::random_device device;
  return (static_cast<uint64_t>(device()) << 32) ^ device();
}

}  // namespace fpgaserve
