// The start-up memory check: what fits passes, what does not names the bytes needed, the bytes available and
// the hint; an unknown figure passes (the allocation's own failure is then the fence); overflow fails.
#include "base/memory_check.h"

#include <gtest/gtest.h>

namespace fpgaserve {
namespace {

TEST(MemoryCheck, PassesWhatFitsAndRefusesWhatDoesNotWithBothFiguresAndTheHint) {
  EXPECT_TRUE(CheckMemory("the cache", 1000, 1000, "lower --x").ok());
  const Status st = CheckMemory("the cache", 3ull << 30, 1ull << 30, "lower --x");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(st.message(),
            "the cache needs 3221225472 bytes (3.00 GiB), but the machine has 1073741824 bytes "
            "(1.00 GiB) available; lower --x");
}

TEST(MemoryCheck, AnUnknownAvailableFigurePassesAndAnOverflowedSizeFails) {
  EXPECT_TRUE(CheckMemory("the cache", 1ull << 60, std::nullopt, "lower --x").ok());
  EXPECT_FALSE(CheckMemory("the cache", std::nullopt, std::nullopt, "lower --x").ok());
  EXPECT_EQ(CheckedMultiply(1ull << 40, 1ull << 30), std::nullopt);
  EXPECT_EQ(CheckedMultiply(1ull << 20, 1ull << 10), 1ull << 30);
}

TEST(MemoryCheck, ThisMachineReportsSomeMemory) {
  const std::optional<uint64_t> available = AvailableMemoryBytes();
  ASSERT_TRUE(available.has_value());  // Linux: /proc/meminfo
  EXPECT_GT(*available, 0u);
}

TEST(MemoryCheck, FormatsBytesForMessages) {
  EXPECT_EQ(FormatBytes(512), "512 bytes");
  EXPECT_EQ(FormatBytes(12ull << 20), "12.0 MiB");
  EXPECT_EQ(FormatBytes(3ull << 29), "1.50 GiB");
}

}  // namespace
}  // namespace fpgaserve
