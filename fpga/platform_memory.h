// PlatformMemory: the memory resources each card's Vitis platform offers a kernel port, as the names v++
// accepts in a link config's sp= lines, and the xclbin's MEM_TOPOLOGY lists them. A table from the cards'
// documentation (the Alveo data sheets DS962/DS963/DS1000 and AWS's F1 shell notes), not read from a
// platform: no Vitis platform is installed where this was written.
//
// It is the host's mirror of kernel/platforms/<card>.{mk,cfg}: tests/fpga/platform_configs_test.cpp checks
// that every link config names only resources listed here and wires ports as `io_memory` and the port
// prefix say, and the test xclbins (MakeMetadataXclbin with a card) are laid out from it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fpgaserve {

// The memory kinds of XRT's enum MEM_TYPE (xclbin.h) that kernel ports use.
enum class XclbinMemoryType : uint8_t {
  kDdr3 = 0,
  kDdr4 = 1,
  kDram = 2,
  kStreaming = 3,
  kPreallocatedGlobal = 4,
  kAurora = 5,
  kHbm = 6,
  kBram = 7,
  kUram = 8,
  kStreamingConnection = 9,
  kHost = 10,
  kPsKernel = 11,
};

// "DDR4", "HBM", ..., or "type 42".
std::string XclbinMemoryTypeName(uint8_t type);

struct MemoryResource {
  std::string name;  // as in sp= lines and MEM_TOPOLOGY tags: "DDR[2]", "HBM[17]"
  XclbinMemoryType type = XclbinMemoryType::kDdr4;
  uint64_t bytes = 0;
};

struct PlatformMemories {
  std::string card;                       // aws-f1, u200, u250, u55c, u280 (kernel/platforms/<card>.*)
  std::string vitis_platform;             // the platform kernel/platforms/<card>.mk builds for
  std::string port_prefix;                // memory port p is wired to <port_prefix>[p]: "DDR" or "HBM"
  std::string io_memory;                  // where the step input and the logits live
  int slrs = 0;                           // SLR0 .. SLR<slrs-1>
  std::vector<MemoryResource> resources;  // in MEM_TOPOLOGY order
};

// The five cards; Find returns nullptr for another name.
const std::vector<PlatformMemories>& PlatformMemoryTable();
const PlatformMemories* FindPlatformMemories(const std::string& card);

// Index of `name` in p.resources, or -1.
int MemoryIndex(const PlatformMemories& p, const std::string& name);

}  // namespace fpgaserve
