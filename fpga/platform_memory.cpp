#include "fpga/platform_memory.h"

namespace fpgaserve {
namespace {

constexpr uint64_t kGiB = 1ull << 30;
constexpr uint64_t kMiB = 1ull << 20;

void Add(PlatformMemories& p, const std::string& prefix, int count, XclbinMemoryType type, uint64_t bytes) {
  for (int i = 0; i < count; i++) p.resources.push_back({prefix + "[" + std::to_string(i) + "]", type, bytes});
}

}  // namespace

std::string XclbinMemoryTypeName(uint8_t type) {
  switch (static_cast<XclbinMemoryType>(type)) {
    case XclbinMemoryType::kDdr3: return "DDR3";
    case XclbinMemoryType::kDdr4: return "DDR4";
    case XclbinMemoryType::kDram: return "DRAM";
    case XclbinMemoryType::kStreaming: return "streaming";
    case XclbinMemoryType::kPreallocatedGlobal: return "preallocated global";
    case XclbinMemoryType::kAurora: return "Aurora";
    case XclbinMemoryType::kHbm: return "HBM";
    case XclbinMemoryType::kBram: return "BRAM";
    case XclbinMemoryType::kUram: return "URAM";
    case XclbinMemoryType::kStreamingConnection: return "streaming connection";
    case XclbinMemoryType::kHost: return "host";
    case XclbinMemoryType::kPsKernel: return "PS kernel";
  }
  return "type " + std::to_string(type);
}

const std::vector<PlatformMemories>& PlatformMemoryTable() {
  // DDR cards: four DDR4-2400 banks of 16 GiB each (F1: DDR A-D, C inside the shell; U200/U250: one
  // DIMM-class bank per channel). HBM cards: 32 pseudo-channels over two stacks, 512 MiB each on the U55C
  // (16 GiB), 256 MiB on the U280 (8 GiB), which also has two 16 GiB DDR4 banks. PLRAM is left out: no
  // port of ours uses it. SLRs: VU9P-class (F1, U200) and the HBM parts have three, the U250 four.
  static const std::vector<PlatformMemories> table = [] {
    std::vector<PlatformMemories> t;
    PlatformMemories f1{"aws-f1", "xilinx_aws-vu9p-f1_shell-v04261818_201920_3", "DDR", "DDR[0]", 3, {}};
    Add(f1, "DDR", 4, XclbinMemoryType::kDdr4, 16 * kGiB);
    t.push_back(f1);
    PlatformMemories u200{"u200", "xilinx_u200_gen3x16_xdma_2_202110_1", "DDR", "DDR[0]", 3, {}};
    Add(u200, "DDR", 4, XclbinMemoryType::kDdr4, 16 * kGiB);
    t.push_back(u200);
    PlatformMemories u250{"u250", "xilinx_u250_gen3x16_xdma_4_1_202210_1", "DDR", "DDR[0]", 4, {}};
    Add(u250, "DDR", 4, XclbinMemoryType::kDdr4, 16 * kGiB);
    t.push_back(u250);
    PlatformMemories u55c{"u55c", "xilinx_u55c_gen3x16_xdma_3_202210_1", "HBM", "HBM[0]", 3, {}};
    Add(u55c, "HBM", 32, XclbinMemoryType::kHbm, 512 * kMiB);
    t.push_back(u55c);
    PlatformMemories u280{"u280", "xilinx_u280_gen3x16_xdma_1_202211_1", "HBM", "HBM[0]", 3, {}};
    Add(u280, "HBM", 32, XclbinMemoryType::kHbm, 256 * kMiB);
    Add(u280, "DDR", 2, XclbinMemoryType::kDdr4, 16 * kGiB);
    t.push_back(u280);
    return t;
  }();
  return table;
}

const PlatformMemories* FindPlatformMemories(const std::string& card) {
  for (const PlatformMemories& p : PlatformMemoryTable()) {
    if (p.card == card) return &p;
  }
  return nullptr;
}

int MemoryIndex(const PlatformMemories& p, const std::string& name) {
  for (size_t i = 0; i < p.resources.size(); i++) {
    if (p.resources[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace fpgaserve
