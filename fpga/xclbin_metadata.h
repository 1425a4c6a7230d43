// What the host knows about the kernel's xclbin: the argument list of fpgaserve_step (kernel/card/card.h),
// the memory wiring of kernel/platforms/<card>.cfg, and the build metadata that records the compile-time maxima and
// the memory port count.
//
// Build metadata: kernel/Makefile writes a small JSON (see BuildInfoToJson) and adds it to the xclbin
// after `v++ -l` with `xclbinutil --add-section USER_METADATA:RAW:fpgaserve_build.json`. We use our own
// section rather than v++'s BUILD_METADATA (which create_vitis_afi.sh reads and v++ owns) or
// KEYVALUE_METADATA (whose JSON xclbinutil rewrites); USER_METADATA is free for users, and
// create_vitis_afi.sh keeps it in the .awsxclbin (it only replaces BITSTREAM and drops
// PARTITION_METADATA / SYSTEM_METADATA). The host refuses an xclbin without it: without the maxima it
// cannot know whether a model fits the on-chip buffers.
//
// MakeMetadataXclbin writes the xclbin a `v++ -l` + xclbinutil build of kernel/ would have, minus the
// bitstream: EMBEDDED_METADATA (the kernel XML with argument offsets, sizes and ports), IP_LAYOUT (one
// compute unit), CONNECTIVITY (argument -> memory), MEM_TOPOLOGY (a card's memories from
// fpga/platform_memory.h when one is named; else F1's four DDR4 banks for a 4-port build, one HBM
// pseudo-channel per port for a larger one), CLOCK_FREQ_TOPOLOGY and our USER_METADATA. XRT's noop shim loads it, which
// is how the XRT card is tested without a card; options make it wrong on purpose for the tests of what the card
// refuses.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "fpga/kernel_limits.h"
#include "fpga/platform_memory.h"
#include "fpga/xclbin.h"
#include "kernel/kernel.h"

namespace fpgaserve {

inline constexpr const char* kStepKernelName = "fpgaserve_step";
inline constexpr const char* kStepInstanceName = "fpgaserve_step_1";  // the CU name link.cfg's nk= gives
inline constexpr const char* kBuildInfoSchema = "fpgaserve.kernel.build/1";
inline constexpr const char* kF1Platform = "xilinx_aws-vu9p-f1_shell-v04261818_201920_3";

// Arguments of fpgaserve_step, in order (kernel/card/card.h): one buffer per memory port (m0..m{P-1},
// P = kernel::kMemPorts, a build parameter), the step input, the logits, then four scalars. Constants
// rather than an enum because the count follows FPGASERVE_MEM_PORTS.
inline constexpr int kArgPort0 = 0;  // port p's buffer is argument kArgPort0 + p
inline constexpr int kArgIn = kArgPort0 + kernel::kMemPorts;
inline constexpr int kArgLogits = kArgIn + 1;
inline constexpr int kArgNEntries = kArgIn + 2;
inline constexpr int kArgNSlots = kArgIn + 3;
inline constexpr int kArgCacheLen = kArgIn + 4;
inline constexpr int kArgKvBase = kArgIn + 5;
inline constexpr int kStepArgCount = kArgIn + 6;

struct StepArgSpec {
  std::string name;
  bool global = false;    // a pointer (an m_axi port, a buffer in a memory bank) or a scalar (s_axilite)
  std::string port;       // the HLS interface port: M_AXI_GMEM<p>, M_AXI_GMEM_IN, M_AXI_GMEM_OUT, S_AXI_CONTROL
  uint32_t offset = 0;    // register offset in the control interface (Vitis HLS: 0x10 on, 12 bytes a pointer)
  uint32_t size = 0;      // bytes of the argument's value: 8 for a pointer, 4 for an int
  const char* type = "";  // the C type, as v++ records it
  int bank = -1;          // memory (MEM_TOPOLOGY index) of the DDR link configs (sp=...:DDR[bank]); -1 for scalars
};

// The table above for every argument, indexed by argument number.
const std::array<StepArgSpec, kStepArgCount>& StepArgs();

// The build metadata of an xclbin (the JSON in its USER_METADATA section).
struct XclbinBuildInfo {
  std::string kernel = kStepKernelName;
  KernelLimits limits;          // FPGASERVE_MAX_* the kernel was compiled with
  int mem_ports = 0;            // kernel::kMemPorts of the build: the port buffers it takes
  int pe_entries = 0;           // kernel::kPeEntries: entries a PE array serves a cycle (speed only, not checked)
  int entry_fields = 0;         // kernel::kEntryFields of the build
  int image_version = 0;        // kernel::kImageVersion: the weights image layout it reads
  int kv_value_bytes = 0;       // sizeof(kernel::KvValue): bytes of one cached key or value
  int kernel_mhz = 0;           // the clock asked of v++
  int kernel_mhz_achieved = 0;  // the data clock the link achieved (kernel/Makefile reads it from
                                // CLOCK_FREQ_TOPOLOGY after v++ -l); 0 when not recorded (build-info only)
  std::string target;           // hw, hw_emu, sw_emu, or "test" for MakeMetadataXclbin
  std::string card;             // kernel/platforms/<card>: aws-f1, u200, u250, u55c, u280; "" in older metadata
  std::string platform;         // the Vitis platform
};

// This build's contract (kernel.h's constants) with the given limits.
XclbinBuildInfo BuildInfoFor(const KernelLimits& limits, const std::string& target);

// One JSON object; the fields are the struct's, the limits flattened (max_dim, ...), plus "schema".
std::string BuildInfoToJson(const XclbinBuildInfo& info);
// InvalidArgument naming `what` and the missing or malformed field.
Result<XclbinBuildInfo> ParseBuildInfo(std::string_view text, const std::string& what);
// The xclbin's build metadata: NotFound when it has no USER_METADATA section (an xclbin not made by
// kernel/Makefile), InvalidArgument when the section is not ours or is malformed.
Result<XclbinBuildInfo> ReadBuildInfo(const Xclbin& xclbin, const std::string& what);

// One memory of an xclbin's MEM_TOPOLOGY (XRT's struct mem_data); a kernel argument's group_id indexes them.
struct XclbinMemory {
  uint8_t type = 0;    // XclbinMemoryType
  bool used = false;   // a kernel port connects to it
  uint64_t bytes = 0;  // m_size is in KiB in the file
  uint64_t base = 0;
  std::string tag;  // "bank0", "DDR[1]", "HBM[7]", "PLRAM[0]"...
};

// The xclbin's memories in MEM_TOPOLOGY order. NotFound without the section, InvalidArgument when it is
// malformed (a count that does not fit the section), each naming `what`.
Result<std::vector<XclbinMemory>> ReadMemTopology(const Xclbin& xclbin, const std::string& what);

// The memories a kernel argument's group_id indexes: the GROUP_TOPOLOGY section when the xclbin has one,
// else MEM_TOPOLOGY. v++ writes GROUP_TOPOLOGY (MEM_TOPOLOGY's memories, then one entry per group of
// memories an argument is connected to, as sp=...:HBM[0:1] makes) and GROUP_CONNECTIVITY, and XRT then
// answers group_id from them: an index past MEM_TOPOLOGY's end. Errors as ReadMemTopology's.
Result<std::vector<XclbinMemory>> ReadMemoryGroups(const Xclbin& xclbin, const std::string& what);

// The data clock (CT_DATA entry of CLOCK_FREQ_TOPOLOGY: an HLS kernel's ap_clk) in MHz, or nullopt when
// the section is missing, malformed or has no data clock.
std::optional<int> ReadDataClockMhz(const Xclbin& xclbin);

struct MetadataXclbinOptions {
  XclbinBuildInfo build = BuildInfoFor(KernelLimits::Compiled(), "test");
  bool with_build_info = true;
  std::string kernel_name = kStepKernelName;
  int drop_last_args = 0;  // leave out the last N arguments (a kernel of another version)
  std::string afi_id;      // non-empty: an .awsxclbin whose BITSTREAM holds this AFI id
  // A card of fpga/platform_memory.h: its memories become MEM_TOPOLOGY, its Vitis platform the header's,
  // and (when `banks` is all zero) port p is wired to <port_prefix>[p], in and logits to its io_memory, as
  // kernel/platforms/<card>.cfg does. Empty: F1's banks for a 4-port build, HBM channels for more.
  std::string card;
  int achieved_mhz = 0;                    // the data clock in CLOCK_FREQ_TOPOLOGY; 0: build.kernel_mhz
  std::array<int, kStepArgCount> banks{};  // per argument; filled from StepArgs() (or the card) when all zero
  std::array<uint8_t, 16> uuid{};          // all zero: derived from the contents
  // The step input and logits connected to a group of the first two memories, as v++ links
  // sp=...in:HBM[0:1]: GROUP_TOPOLOGY (the memories, then the group) and GROUP_CONNECTIVITY (in and
  // logits on the group) are written besides MEM_TOPOLOGY and CONNECTIVITY (in and logits on memory 0).
  bool io_memory_group = false;
};

std::vector<uint8_t> MakeMetadataXclbin(const MetadataXclbinOptions& options);

}  // namespace fpgaserve
