// A simulated card's KV cache is checked against the memory available before it is allocated: the figure is
// injected here, so the refusal's message (bytes needed, bytes available, the options to lower) is pinned
// without a machine of that size.
#include <gtest/gtest.h>

#include "fpga/sim_card.h"
#include "kernel/kernel.h"

namespace fpgaserve {
namespace {

ModelConfig Stories15M() {
  ModelConfig c;
  c.dim = 288;
  c.hidden_dim = 768;
  c.n_layers = 6;
  c.n_heads = 6;
  c.n_kv_heads = 6;
  c.vocab_size = 32000;
  c.seq_len = 256;
  return c;
}

TEST(SimCardMemory, KvCacheBytesIsKeysAndValuesOfEverySlotFull) {
  const ModelConfig c = Stories15M();
  SimCardOptions o;
  o.n_slots = 8;
  const uint64_t per_slot = 2ull * c.n_layers * c.seq_len * c.n_kv_heads * kernel::KvHeadStride(c.head_size()) *
                            sizeof(kernel::KvValue);
  EXPECT_EQ(SimCard::KvCacheBytes(c, o), 8 * per_slot);
  o.cache_len = 128;  // half the model's context
  EXPECT_EQ(SimCard::KvCacheBytes(c, o), 4 * per_slot);
}

TEST(SimCardMemory, ACacheLargerThanTheMachineIsRefusedNamingBytesAndOptions) {
  const ModelConfig c = Stories15M();
  SimCardOptions o;
  o.n_slots = 100000000;
  const uint64_t needed = 2 * SimCard::KvCacheBytes(c, o).value();
  const Status st = SimCard::CheckKvCacheFits(c, o, 2, uint64_t{8} << 30);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), StatusCode::kResourceExhausted);
  EXPECT_NE(st.message().find("the KV cache of 2 simulated cards (100000000 slots of 256 tokens each) needs " +
                              std::to_string(needed) + " bytes"),
            std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find("8589934592 bytes (8.00 GiB) available"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("--kv-slots"), std::string::npos);
  EXPECT_NE(st.message().find("--cache-len"), std::string::npos);

  o.n_slots = 8;
  EXPECT_TRUE(SimCard::CheckKvCacheFits(c, o, 2, uint64_t{8} << 30).ok());
}

}  // namespace
}  // namespace fpgaserve
