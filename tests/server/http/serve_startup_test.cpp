// The real `fpgaserve serve` at start-up and in its log: sizes the machine cannot hold are refused with a
// message naming the bytes and the option (exit 1, no "terminate called"), and every log line is valid in
// its format (JSON lines with --log-format json, key=value lines by default); a port another daemon holds is
// refused.
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

// A second daemon on a port the first holds must not come up beside it and share the traffic (the transport
// sets no SO_REUSEPORT unless --http-reuse-port 1): it exits 1 saying so.
TEST(ServeStartupTest, ASecondServeOnTheSamePortExits1WithAddressInUse) {
  testing::ServeProcess first({"--device", "sim:1"});
  ASSERT_TRUE(first.ok()) << first.log();
  testing::ServeProcess second({"--device", "sim:1", "--port", std::to_string(first.port())});
  EXPECT_FALSE(second.ok());
  EXPECT_EQ(second.WaitExit(milliseconds(20000)), 1) << second.log();
  EXPECT_NE(second.log().find("address in use"), std::string::npos) << second.log();
  EXPECT_EQ(first.Client().Get("/health")->status, 200);  // the first one is untouched
}

}  // namespace
}  // namespace fpgaserve
