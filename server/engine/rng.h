// Rng: the per-sequence random number generator the sampler draws from.
//
// Every sequence owns one Rng, seeded from the request's `seed` (or from RandomSeed() when the request has
// none). Its stream depends on the seed alone: there is no global state, so the tokens a seeded request
// gets do not depend on which other requests share the card, the step or the process.
//
// The sampler takes a RandomSource rather than an Rng so that tests can feed it chosen numbers (0.0 to hit
// the first candidate, 0.999 the last). The sampler makes at most one call per token, so the virtual call
// costs nothing measurable.
//
// Threading: an Rng has no shared state; one object must not be used by two threads at once.
#pragma once

#include <bit>
#include <cstdint>

namespace fpgaserve {

// A source of uniform floats in [0, 1).
class RandomSource {
 public:
  virtual ~RandomSource() = default;
  // Returns a float in [0, 1). Implementations used by the sampler must never return 1.0 or more.
  virtual float NextFloat() = 0;
};

// xoshiro256** (Blackman and Vigna), its 256-bit state filled from the seed by splitmix64, the seeding
// its authors recommend: any seed, 0 included, gives a well-mixed non-zero state. Copyable: a copy
// continues the same stream independently.
class Rng final : public RandomSource {
 public:
  explicit Rng(uint64_t seed) {
    for (uint64_t& word : state_) word = SplitMix64(seed);
  }

  // The next 64 random bits.
  uint64_t NextU64() {
    const uint64_t result = std::rotl(state_[1] * 5, 7) * 9;
    const uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = std::rotl(state_[3], 45);
    return result;
  }

  // A float in [0, 1) with 24 random bits (every value a multiple of 2^-24), from the top bits of
  // NextU64(), which are xoshiro's best.
  float NextFloat() override { return static_cast<float>(NextU64() >> 40) * 0x1.0p-24f; }

  // A seed for a request that did not give one, from the operating system's entropy source.
  // Thread-safe.
  static uint64_t RandomSeed();

 private:
  // Advances *x and returns the next splitmix64 output.
  static uint64_t SplitMix64(uint64_t& x) {
    uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  uint64_t state_[4];
};

}  // namespace fpgaserve
