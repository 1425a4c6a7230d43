// The real `fpgaserve serve` at start-up and in its log: sizes the machine cannot hold are refused with a
// message naming the bytes and the option (exit 1, no "terminate called"), and every log line is valid in
// its format (JSON lines with --log-format json, key=value lines by default).
#include <chrono>

#include <gtest/gtest.h>

#include "serve_process.h"

namespace fpgaserve {
namespace {

using std::chrono::milliseconds;

TEST(ServeStartupTest, AKvCacheLargerThanTheMachineIsRefusedWithTheBytesAndTheOption) {
  testing::ServeProcess server({"--device", "sim:1", "--kv-slots", "100000000"});
  EXPECT_FALSE(server.ok());
  EXPECT_EQ(server.WaitExit(milliseconds(20000)), 1) << server.log();
  const std::string log = server.log();
  EXPECT_NE(log.find("the KV cache of 1 simulated card (100000000 slots"), std::string::npos) << log;
  EXPECT_NE(log.find("bytes (6103.52 GiB), but the machine has "), std::string::npos) << log;
  EXPECT_NE(log.find(") available; "), std::string::npos) << log;
  EXPECT_NE(log.find("--kv-slots"), std::string::npos) << log;
  EXPECT_NE(log.find("--cache-len"), std::string::npos) << log;
  EXPECT_EQ(log.find("terminate called"), std::string::npos) << log;
  EXPECT_EQ(log.find("bad_alloc"), std::string::npos) << log;
}

}  // namespace
}  // namespace fpgaserve
