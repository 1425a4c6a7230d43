// xclbin files (the card's bitstream container): Xclbin::Parse on the input, then the metadata readers the
// XRT card runs before it loads one (ReadBuildInfo, ReadMemTopology, ReadDataClockMhz), and ParseBuildInfo
// on the input as the USER_METADATA JSON text itself.
#include <cstdint>
#include <string>
#include <vector>

#include "fpga/xclbin.h"
#include "fpga/xclbin_metadata.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fpgaserve;
  (void)ParseBuildInfo(fuzz::AsText(data, size), "fuzz");
  Result<Xclbin> x = Xclbin::Parse(std::vector<uint8_t>(data, data + size), "fuzz");
  if (!x.ok()) return 0;
  (void)ReadBuildInfo(x.value(), "fuzz");
  (void)ReadMemTopology(x.value(), "fuzz");
  (void)ReadDataClockMhz(x.value());
  return 0;
}
