#include "fpga/xclbin_metadata.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include <nlohmann/json.hpp>

#include "kernel/card/card.h"
#include "kernel/kernel.h"

namespace fpgaserve {
namespace {

// The layouts of XRT's xclbin.h sections we write (sizes checked by tests/fpga/xclbin_test.cpp).
constexpr size_t kMemDataBytes = 40;     // struct mem_data
constexpr size_t kIpDataBytes = 80;      // struct ip_data
constexpr size_t kConnectionBytes = 12;  // struct connection
constexpr size_t kClockFreqBytes = 136;  // struct clock_freq
constexpr uint32_t kIpKernel = 1;        // IP_KERNEL
// F1: four DDR4 banks of 16 GiB, at consecutive 16 GiB boundaries: the memories of a 4-port build.
constexpr int kF1Banks = 4;
constexpr uint64_t kF1BankKb = 16ull << 20;
// A build of more ports is for an HBM card: one pseudo-channel per port, 512 MiB each as on the U55C
// (32 x 512 MiB); the U280's are 256 MiB, but the noop shim does not check sizes against a card.
constexpr uint64_t kHbmChannelKb = 512ull << 10;
// Where v++ places the CU's control registers on the F1 shell, and their range.
constexpr uint64_t kCuBase = 0x1800000;
constexpr uint32_t kCuRange = 0x10000;

template <typename T>
void Put(std::vector<uint8_t>& b, size_t at, T v) {
  if (at + sizeof v > b.size()) return;  // never; the check also tells the compiler b is not empty
  std::memcpy(&b[at], &v, sizeof v);
}

// Types such as ap_uint<512>* in an XML attribute.
std::string XmlEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string Hex(uint64_t v) {
  char s[32];
  std::snprintf(s, sizeof s, "0x%llx", static_cast<unsigned long long>(v));
  return s;
}

template <typename T>
T Get(std::string_view b, size_t at) {
  T v{};
  std::memcpy(&v, b.data() + at, sizeof v);
  return v;
}

// Without a card: the memories StepArgs() wires the ports to, memory p for port p (the other buffers share
// memory 0): F1's banks (tagged "bank<i>" as F1's shell does) or one HBM pseudo-channel per port.
std::vector<MemoryResource> DefaultMemories() {
  const bool ddr = kernel::kMemPorts <= kF1Banks;
  const int count = ddr ? kF1Banks : kernel::kMemPorts;
  std::vector<MemoryResource> m;
  for (int i = 0; i < count; i++) {
    if (ddr) {
      m.push_back({"bank" + std::to_string(i), XclbinMemoryType::kDdr4, kF1BankKb * 1024});
    } else {
      m.push_back({"HBM[" + std::to_string(i) + "]", XclbinMemoryType::kHbm, kHbmChannelKb * 1024});
    }
  }
  return m;
}

std::vector<uint8_t> MemTopology(const std::vector<MemoryResource>& memories) {
  const int count = static_cast<int>(memories.size());
  std::vector<uint8_t> b(8 + count * kMemDataBytes, 0);  // int32 count, padded to mem_data's 8-alignment
  Put<int32_t>(b, 0, count);
  uint64_t base = 0;
  for (int i = 0; i < count; i++) {
    const size_t at = 8 + i * kMemDataBytes;
    const uint64_t kb = memories[i].bytes / 1024;
    Put<uint8_t>(b, at + 0, static_cast<uint8_t>(memories[i].type));
    Put<uint8_t>(b, at + 1, 1);  // m_used: a kernel port connects to it
    Put<uint64_t>(b, at + 8, kb);
    Put<uint64_t>(b, at + 16, base);
    base += kb * 1024;
    const std::string& tag = memories[i].name;
    std::memcpy(b.data() + at + 24, tag.data(), std::min<size_t>(15, tag.size()));
  }
  return b;
}

std::vector<uint8_t> IpLayout(const std::string& kernel_name) {
  std::vector<uint8_t> b(8 + kIpDataBytes, 0);
  Put<int32_t>(b, 0, 1);
  const size_t at = 8;
  Put<uint32_t>(b, at + 0, kIpKernel);
  Put<uint32_t>(b, at + 4, 0x1);  // interrupt enabled, id 0, AP_CTRL_HS
  Put<uint64_t>(b, at + 8, kCuBase);
  const std::string name = kernel_name + ":" + kStepInstanceName;
  std::memcpy(b.data() + at + 16, name.data(), std::min<size_t>(63, name.size()));
  return b;
}

std::vector<uint8_t> Connectivity(const std::array<int, kStepArgCount>& banks, int n_args) {
  std::vector<std::array<int32_t, 3>> conns;
  for (int i = 0; i < n_args; i++) {
    if (StepArgs()[i].global) conns.push_back({i, 0, banks[i]});
  }
  std::vector<uint8_t> b(4 + conns.size() * kConnectionBytes, 0);
  Put<int32_t>(b, 0, static_cast<int32_t>(conns.size()));
  for (size_t c = 0; c < conns.size(); c++) {
    for (int f = 0; f < 3; f++) Put<int32_t>(b, 4 + c * kConnectionBytes + 4 * f, conns[c][f]);
  }
  return b;
}

// DATA_CLK (an HLS kernel's ap_clk) at `mhz`, KERNEL_CLK (an RTL kernel's second clock) at 500 as on the
// Alveo and F1 shells.
std::vector<uint8_t> ClockFreqTopology(int mhz) {
  const char* names[2] = {"DATA_CLK", "KERNEL_CLK"};
  const int freqs[2] = {mhz, 500};
  std::vector<uint8_t> b(8 + 2 * kClockFreqBytes, 0);
  Put<int16_t>(b, 0, 2);
  for (int i = 0; i < 2; i++) {
    const size_t at = 2 + i * kClockFreqBytes;
    Put<uint16_t>(b, at, static_cast<uint16_t>(freqs[i]));
    Put<uint8_t>(b, at + 2, static_cast<uint8_t>(i == 0 ? 1 : 2));  // CT_DATA, CT_KERNEL
    std::memcpy(b.data() + at + 8, names[i], std::strlen(names[i]));
  }
  return b;
}

// The kernel's XML as v++ writes it: only the parts XRT reads (kernel, ports, args, instance).
std::string EmbeddedMetadata(const MetadataXclbinOptions& o, int n_args) {
  std::string x;
  x += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  x += "<project name=\"fpgaserve\">\n";
  x += "  <platform vendor=\"xilinx\" boardid=\"aws-vu9p-f1\" name=\"shell-v04261818\" featureRomTime=\"0\">\n";
  x += "    <version major=\"201920\" minor=\"3\"/>\n";
  x += "    <device name=\"fpga0\" fpgaDevice=\"virtexuplus:xcvu9p:flgb2104:-2:i\" addrWidth=\"0\">\n";
  x += "      <core name=\"OCL_REGION_0\" target=\"bitstream\" type=\"clc_region\" clockFreq=\"0MHz\" "
       "numComputeUnits=\"60\">\n";
  x += "        <kernelClocks>\n";
  x += "          <clock port=\"KERNEL_CLK\" frequency=\"500.000000MHz\"/>\n";
  x += "          <clock port=\"DATA_CLK\" frequency=\"" + std::to_string(o.build.kernel_mhz) + ".000000MHz\"/>\n";
  x += "        </kernelClocks>\n";
  x += "        <kernel name=\"" + o.kernel_name + "\" language=\"c\" vlnv=\"xilinx.com:hls:" + o.kernel_name +
       ":1.0\" preferredWorkGroupSizeMultiple=\"0\" workGroupSize=\"1\" debug=\"false\" interrupt=\"true\" "
       "hwControlProtocol=\"ap_ctrl_hs\">\n";
  x += "          <module name=\"" + o.kernel_name + "\"/>\n";
  // One AXI master per pointer argument (each has its own bundle), 512 bits wide: a Word.
  for (const StepArgSpec& a : StepArgs()) {
    if (!a.global) continue;
    x += "          <port name=\"" + a.port +
         "\" mode=\"master\" range=\"0xFFFFFFFFFFFFFFFF\" dataWidth=\"512\" portType=\"addressable\" base=\"0x0\"/>\n";
  }
  x += "          <port name=\"S_AXI_CONTROL\" mode=\"slave\" range=\"" + Hex(kCuRange) +
       "\" dataWidth=\"32\" portType=\"addressable\" base=\"0x0\"/>\n";
  for (int i = 0; i < n_args; i++) {
    const StepArgSpec& a = StepArgs()[i];
    x += "          <arg name=\"" + a.name + "\" addressQualifier=\"" + (a.global ? "1" : "0") + "\" id=\"" +
         std::to_string(i) + "\" port=\"" + a.port + "\" size=\"" + Hex(a.size) + "\" offset=\"" + Hex(a.offset) +
         "\" hostOffset=\"0x0\" hostSize=\"" + Hex(a.size) + "\" type=\"" + XmlEscape(a.type) + "\"/>\n";
  }
  x += "          <compileWorkGroupSize x=\"1\" y=\"1\" z=\"1\"/>\n";
  x += "          <maxWorkGroupSize x=\"1\" y=\"1\" z=\"1\"/>\n";
  x += "          <instance name=\"" + std::string(kStepInstanceName) + "\">\n";
  x += "            <addrRemap base=\"" + Hex(kCuBase) + "\" range=\"" + Hex(kCuRange) +
       "\" port=\"S_AXI_CONTROL\"/>\n";
  x += "          </instance>\n";
  x += "        </kernel>\n";
  x += "      </core>\n";
  x += "    </device>\n";
  x += "  </platform>\n";
  x += "</project>\n";
  return x;
}

}  // namespace

const std::array<StepArgSpec, kStepArgCount>& StepArgs() {
  // Register offsets as Vitis HLS lays out an ap_ctrl_hs control block: 0x00-0x0f control/interrupt
  // registers, then 12 bytes per 64-bit pointer and 8 per 32-bit scalar. Memories as the DDR cards' link
  // configs (kernel/platforms/aws-f1.cfg): port p's buffer in memory p, so the ports stream side by side;
  // `in` and `logits` in memory 0 (why: aws-f1.cfg). Bundles as kernel/card/step.cpp's INTERFACE pragmas: gmem<p>,
  // gmem_in, gmem_out.
  static const std::array<StepArgSpec, kStepArgCount> args = [] {
    std::array<StepArgSpec, kStepArgCount> a;
    uint32_t offset = 0x10;
    auto pointer = [&](const std::string& name, const std::string& port, const char* type, int bank) {
      StepArgSpec s{name, true, port, offset, 8, type, bank};
      offset += 12;
      return s;
    };
    auto scalar = [&](const std::string& name) {
      StepArgSpec s{name, false, "S_AXI_CONTROL", offset, 4, "int", -1};
      offset += 8;
      return s;
    };
    for (int p = 0; p < kernel::kMemPorts; p++) {
      // Appended rather than "m" + to_string(p): GCC 12 warns a false -Wrestrict on the latter.
      std::string name = "m", port = "M_AXI_GMEM";
      name += std::to_string(p);
      port += std::to_string(p);
      a[kArgPort0 + p] = pointer(name, port, "ap_uint<512>*", p);
    }
    a[kArgIn] = pointer("in", "M_AXI_GMEM_IN", "const ap_uint<512>*", 0);
    a[kArgLogits] = pointer("logits", "M_AXI_GMEM_OUT", "ap_uint<512>*", 0);
    a[kArgNEntries] = scalar("n_entries");
    a[kArgNSlots] = scalar("n_slots");
    a[kArgCacheLen] = scalar("cache_len");
    a[kArgKvBase] = scalar("kv_base");
    return a;
  }();
  return args;
}

XclbinBuildInfo BuildInfoFor(const KernelLimits& limits, const std::string& target) {
  XclbinBuildInfo b;
  b.limits = limits;
  b.mem_ports = kernel::kMemPorts;
  b.pe_entries = kernel::kPeEntries;
  b.entry_fields = kernel::kEntryFields;
  b.image_version = kernel::kImageVersion;
  b.kv_value_bytes = sizeof(kernel::KvValue);
  b.kernel_mhz = 250;
  b.target = target;
  b.card = "aws-f1";
  b.platform = kF1Platform;
  return b;
}

std::string BuildInfoToJson(const XclbinBuildInfo& info) {
  nlohmann::ordered_json j;
  j["schema"] = kBuildInfoSchema;
  j["kernel"] = info.kernel;
  j["target"] = info.target;
  j["card"] = info.card;
  j["platform"] = info.platform;
  j["kernel_mhz"] = info.kernel_mhz;
  if (info.kernel_mhz_achieved > 0) j["kernel_mhz_achieved"] = info.kernel_mhz_achieved;
  j["max_dim"] = info.limits.max_dim;
  j["max_hidden_dim"] = info.limits.max_hidden_dim;
  j["max_layers"] = info.limits.max_layers;
  j["max_heads"] = info.limits.max_heads;
  j["max_seq_len"] = info.limits.max_seq_len;
  j["max_vocab"] = info.limits.max_vocab;
  j["max_step"] = info.limits.max_step;
  j["min_group_size"] = info.limits.min_group_size;
  j["mem_ports"] = info.mem_ports;
  j["pe_entries"] = info.pe_entries;
  j["entry_fields"] = info.entry_fields;
  j["image_version"] = info.image_version;
  j["kv_value_bytes"] = info.kv_value_bytes;
  return j.dump();
}

Result<XclbinBuildInfo> ParseBuildInfo(std::string_view text, const std::string& what) {
  // xclbinutil keeps a RAW section's bytes as they were; tolerate a trailing NUL or newline.
  while (!text.empty() && (text.back() == '\0' || text.back() == '\n')) text.remove_suffix(1);
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return Status::InvalidArgument(what + ": its build metadata is not a JSON object");
  if (j.value("schema", "") != kBuildInfoSchema) {
    return Status::InvalidArgument(what + ": its USER_METADATA section is not fpgaserve build metadata (schema \"" +
                                   std::string(kBuildInfoSchema) + "\" expected)");
  }
  if (!j.contains("mem_ports") && j.contains("banks")) {
    // Metadata of the kernel before memory ports (kernel/forward.cpp with four weight banks and separate
    // caches): its arguments and image layout are not this host's, so there is nothing to fall back to.
    return Status::InvalidArgument(
        what +
        " was built from an older kernel (its build metadata has \"banks\", not \"mem_ports\"; weights "
        "image version " +
        (j.contains("image_version") ? j["image_version"].dump() : std::string("?")) + ", this fpgaserve reads " +
        std::to_string(kernel::kImageVersion) + "); rebuild the xclbin from this checkout's kernel/ (kernel/Makefile)");
  }
  XclbinBuildInfo b;
  std::string missing;
  auto get_int = [&](const char* key, int* out) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_number_integer()) {
      if (missing.empty()) missing = key;
      return;
    }
    *out = it->get<int>();
  };
  get_int("max_dim", &b.limits.max_dim);
  get_int("max_hidden_dim", &b.limits.max_hidden_dim);
  get_int("max_layers", &b.limits.max_layers);
  get_int("max_heads", &b.limits.max_heads);
  get_int("max_seq_len", &b.limits.max_seq_len);
  get_int("max_vocab", &b.limits.max_vocab);
  get_int("max_step", &b.limits.max_step);
  get_int("min_group_size", &b.limits.min_group_size);
  get_int("mem_ports", &b.mem_ports);
  get_int("pe_entries", &b.pe_entries);
  get_int("entry_fields", &b.entry_fields);
  get_int("image_version", &b.image_version);
  get_int("kv_value_bytes", &b.kv_value_bytes);
  get_int("kernel_mhz", &b.kernel_mhz);
  if (!missing.empty()) {
    return Status::InvalidArgument(what + ": its build metadata has no integer \"" + missing + "\"");
  }
  b.kernel = j.value("kernel", "");
  b.target = j.value("target", "");
  b.platform = j.value("platform", "");
  b.card = j.value("card", "");  // absent before kernel/platforms/
  if (auto it = j.find("kernel_mhz_achieved"); it != j.end()) {
    if (!it->is_number_integer() || it->get<int>() <= 0) {
      return Status::InvalidArgument(what + ": its build metadata's \"kernel_mhz_achieved\" is not a positive integer");
    }
    b.kernel_mhz_achieved = it->get<int>();
  }
  if (b.limits.max_step < 1 || b.limits.max_dim < 1 || b.limits.max_vocab < 1 || b.limits.min_group_size < 1) {
    return Status::InvalidArgument(what + ": its build metadata has non-positive maxima");
  }
  return b;
}

Result<XclbinBuildInfo> ReadBuildInfo(const Xclbin& xclbin, const std::string& what) {
  std::optional<std::string_view> s = xclbin.Section(XclbinSectionKind::kUserMetadata);
  if (!s) {
    return Status::NotFound(what +
                            " has no fpgaserve build metadata (USER_METADATA section): it was not built by "
                            "kernel/Makefile, so the maxima it was compiled with are unknown");
  }
  return ParseBuildInfo(*s, what);
}

namespace {

// A MEM_TOPOLOGY or GROUP_TOPOLOGY section (the same layout: XRT's struct mem_topology).
Result<std::vector<XclbinMemory>> ParseMemories(std::string_view b, const std::string& section,
                                                const std::string& what) {
  if (b.size() < 8)
    return Status::InvalidArgument(what + ": its " + section + " section is " + std::to_string(b.size()) + " bytes");
  const int32_t count = Get<int32_t>(b, 0);
  if (count < 0 || 8 + static_cast<uint64_t>(count) * kMemDataBytes > b.size()) {
    return Status::InvalidArgument(what + ": its " + section + " says " + std::to_string(count) +
                                   " memories but holds " + std::to_string(b.size()) + " bytes");
  }
  std::vector<XclbinMemory> out;
  for (int32_t i = 0; i < count; i++) {
    const size_t at = 8 + static_cast<size_t>(i) * kMemDataBytes;
    XclbinMemory m;
    m.type = Get<uint8_t>(b, at);
    m.used = Get<uint8_t>(b, at + 1) != 0;
    m.bytes = Get<uint64_t>(b, at + 8) * 1024;
    m.base = Get<uint64_t>(b, at + 16);
    const std::string_view tag = b.substr(at + 24, 16);
    m.tag = std::string(tag.substr(0, std::min(tag.find('\0'), tag.size())));
    out.push_back(m);
  }
  return out;
}

}  // namespace

Result<std::vector<XclbinMemory>> ReadMemTopology(const Xclbin& xclbin, const std::string& what) {
  std::optional<std::string_view> s = xclbin.Section(XclbinSectionKind::kMemTopology);
  if (!s) return Status::NotFound(what + " has no MEM_TOPOLOGY section: XRT cannot place the kernel's buffers");
  return ParseMemories(*s, "MEM_TOPOLOGY", what);
}

Result<std::vector<XclbinMemory>> ReadMemoryGroups(const Xclbin& xclbin, const std::string& what) {
  std::optional<std::string_view> s = xclbin.Section(XclbinSectionKind::kGroupTopology);
  if (!s) return ReadMemTopology(xclbin, what);
  return ParseMemories(*s, "GROUP_TOPOLOGY", what);
}

std::optional<int> ReadDataClockMhz(const Xclbin& xclbin) {
  std::optional<std::string_view> s = xclbin.Section(XclbinSectionKind::kClockFreqTopology);
  if (!s || s->size() < 2) return std::nullopt;
  const int16_t count = Get<int16_t>(*s, 0);
  if (count < 0 || 2 + static_cast<uint64_t>(count) * kClockFreqBytes > s->size()) return std::nullopt;
  for (int i = 0; i < count; i++) {
    const size_t at = 2 + static_cast<size_t>(i) * kClockFreqBytes;
    if (Get<uint8_t>(*s, at + 2) == 1) return Get<uint16_t>(*s, at);  // CT_DATA
  }
  return std::nullopt;
}

std::vector<uint8_t> MakeMetadataXclbin(const MetadataXclbinOptions& o) {
  const PlatformMemories* card = o.card.empty() ? nullptr : FindPlatformMemories(o.card);
  const std::vector<MemoryResource> memories = card ? card->resources : DefaultMemories();
  std::array<int, kStepArgCount> banks = o.banks;
  bool all_zero = true;
  for (int b : banks) all_zero = all_zero && b == 0;
  if (all_zero) {
    for (int i = 0; i < kStepArgCount; i++) banks[i] = StepArgs()[i].bank;
    if (card) {
      for (int p = 0; p < kernel::kMemPorts; p++) {
        banks[kArgPort0 + p] = MemoryIndex(*card, card->port_prefix + "[" + std::to_string(p) + "]");
      }
      banks[kArgIn] = banks[kArgLogits] = MemoryIndex(*card, card->io_memory);
    }
  }
  const int n_args = kStepArgCount - std::min(o.drop_last_args, static_cast<int>(kStepArgCount));

  XclbinWriter w;
  w.set_platform_vbnv(card ? card->vitis_platform : std::string(kF1Platform));
  w.set_timestamp(1700000000);
  std::array<uint8_t, 16> uuid = o.uuid;
  bool zero_uuid = true;
  for (uint8_t u : uuid) zero_uuid = zero_uuid && u == 0;
  const std::string xml = EmbeddedMetadata(o, n_args);
  const std::string build = BuildInfoToJson(o.build);
  if (zero_uuid) {
    // A different design gets a different uuid, as v++ gives each link its own: FNV-1a of the contents.
    uint64_t h1 = 1469598103934665603ull, h2 = 1099511628211ull;
    for (char c : xml + build + o.afi_id) {
      h1 = (h1 ^ static_cast<uint8_t>(c)) * 1099511628211ull;
      h2 = (h2 ^ static_cast<uint8_t>(c)) * 1469598103934665603ull + 7;
    }
    for (int i = 0; i < 16; i++) uuid[i] = static_cast<uint8_t>((i < 8 ? h1 : h2) >> (8 * (i % 8)));
    uuid[6] = static_cast<uint8_t>((uuid[6] & 0x0f) | 0x40);  // an RFC 4122 version-4 shape
    uuid[8] = static_cast<uint8_t>((uuid[8] & 0x3f) | 0x80);
  }
  w.set_uuid(uuid);
  // No bitstream: the noop shim does not program anything. An .awsxclbin's BITSTREAM is the AFI id.
  if (!o.afi_id.empty()) w.AddSection(XclbinSectionKind::kBitstream, "", std::string_view(o.afi_id));
  w.AddSection(XclbinSectionKind::kMemTopology, "", MemTopology(memories));
  w.AddSection(XclbinSectionKind::kIpLayout, "", IpLayout(o.kernel_name));
  if (o.io_memory_group && memories.size() >= 2) {
    // The group of memories 0 and 1 after the memories; in and logits on it (GROUP_CONNECTIVITY), on its
    // first memory in CONNECTIVITY.
    std::vector<MemoryResource> groups = memories;
    groups.push_back({memories[0].name + "+1", memories[0].type, memories[0].bytes + memories[1].bytes});
    std::array<int, kStepArgCount> group_banks = banks;
    group_banks[kArgIn] = group_banks[kArgLogits] = static_cast<int>(memories.size());
    banks[kArgIn] = banks[kArgLogits] = 0;
    w.AddSection(XclbinSectionKind::kGroupTopology, "", MemTopology(groups));
    w.AddSection(XclbinSectionKind::kGroupConnectivity, "", Connectivity(group_banks, n_args));
  }
  w.AddSection(XclbinSectionKind::kConnectivity, "", Connectivity(banks, n_args));
  w.AddSection(XclbinSectionKind::kEmbeddedMetadata, "", xml);
  w.AddSection(XclbinSectionKind::kClockFreqTopology, "",
               ClockFreqTopology(o.achieved_mhz > 0 ? o.achieved_mhz : o.build.kernel_mhz));
  if (o.with_build_info) w.AddSection(XclbinSectionKind::kUserMetadata, "fpgaserve_build", build);
  return w.Serialize();
}

}  // namespace fpgaserve
