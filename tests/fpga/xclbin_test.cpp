// The xclbin container (reader and writer), the build metadata, and the agreement of the host's view of
// the kernel with kernel/platforms/aws-f1.cfg and kernel/Makefile.
#include "fpga/xclbin.h"

#include <cstddef>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "fpga/xclbin_metadata.h"
#include "kernel/kernel.h"
#include "support/test_support.h"
#ifdef FPGASERVE_HAVE_XRT
#include <xclbin.h>  // XRT's own layouts, to check ours against
#endif

namespace fpgaserve {
namespace {

#ifdef FPGASERVE_HAVE_XRT
namespace L = xclbin_layout;
static_assert(offsetof(axlf, m_signature_length) == L::kSignatureLengthOffset);
static_assert(offsetof(axlf, reserved) == L::kReservedOffset);
static_assert(offsetof(axlf, m_keyBlock) == L::kKeyBlockOffset);
static_assert(offsetof(axlf, m_uniqueId) == L::kUniqueIdOffset);
static_assert(offsetof(axlf, m_header) == L::kHeaderOffset);
static_assert(offsetof(axlf, m_sections) == L::kSectionHeadersOffset);
static_assert(sizeof(axlf) == L::kAxlfBytes);
static_assert(offsetof(axlf_header, m_length) == L::kHeaderLength);
static_assert(offsetof(axlf_header, m_timeStamp) == L::kHeaderTimeStamp);
static_assert(offsetof(axlf_header, m_versionMajor) == L::kHeaderVersionMajor);
static_assert(offsetof(axlf_header, m_mode) == L::kHeaderMode);
static_assert(offsetof(axlf_header, m_platformVBNV) == L::kHeaderPlatformVbnv);
static_assert(offsetof(axlf_header, uuid) == L::kHeaderUuid);
static_assert(offsetof(axlf_header, m_numSections) == L::kHeaderNumSections);
static_assert(sizeof(axlf_header) == L::kHeaderBytes);
static_assert(offsetof(axlf_section_header, m_sectionName) == L::kSectionName);
static_assert(offsetof(axlf_section_header, m_sectionOffset) == L::kSectionOffset);
static_assert(offsetof(axlf_section_header, m_sectionSize) == L::kSectionSize);
static_assert(sizeof(axlf_section_header) == L::kSectionHeaderBytes);
static_assert(static_cast<uint32_t>(XclbinSectionKind::kEmbeddedMetadata) == EMBEDDED_METADATA);
static_assert(static_cast<uint32_t>(XclbinSectionKind::kMemTopology) == MEM_TOPOLOGY);
static_assert(static_cast<uint32_t>(XclbinSectionKind::kConnectivity) == CONNECTIVITY);
static_assert(static_cast<uint32_t>(XclbinSectionKind::kIpLayout) == IP_LAYOUT);
static_assert(static_cast<uint32_t>(XclbinSectionKind::kClockFreqTopology) == CLOCK_FREQ_TOPOLOGY);
static_assert(static_cast<uint32_t>(XclbinSectionKind::kUserMetadata) == USER_METADATA);
static_assert(static_cast<uint32_t>(XclbinSectionKind::kGroupTopology) == ASK_GROUP_TOPOLOGY);
static_assert(static_cast<uint32_t>(XclbinSectionKind::kGroupConnectivity) == ASK_GROUP_CONNECTIVITY);
// The section payloads xclbin_metadata.cpp writes.
static_assert(sizeof(mem_data) == 40 && offsetof(mem_topology, m_mem_data) == 8);
static_assert(sizeof(ip_data) == 80 && offsetof(ip_layout, m_ip_data) == 8 && offsetof(ip_data, m_name) == 16);
static_assert(sizeof(connection) == 12 && offsetof(connectivity, m_connection) == 4);
static_assert(sizeof(clock_freq) == 136 && offsetof(clock_freq_topology, m_clock_freq) == 2);

TEST(Xclbin, MetadataXclbinReadsBackThroughXrtsStructs) {
  const std::vector<uint8_t> bytes = MakeMetadataXclbin(MetadataXclbinOptions());
  Result<Xclbin> x = Xclbin::Parse(bytes, "test");
  ASSERT_TRUE(x.ok()) << x.status().ToString();
  const auto* conn = reinterpret_cast<const connectivity*>(x.value().Section(XclbinSectionKind::kConnectivity)->data());
  ASSERT_EQ(conn->m_count, kernel::kMemPorts + 2);  // the pointer arguments: the ports, in, logits
  for (int c = 0; c < conn->m_count; c++) {
    EXPECT_EQ(conn->m_connection[c].mem_data_index, StepArgs()[conn->m_connection[c].arg_index].bank);
  }
  const auto* mem = reinterpret_cast<const mem_topology*>(x.value().Section(XclbinSectionKind::kMemTopology)->data());
  if (kernel::kMemPorts == 4) {  // F1's four DDR4 banks
    ASSERT_EQ(mem->m_count, 4);
    EXPECT_EQ(mem->m_mem_data[3].m_type, MEM_DDR4);
    EXPECT_STREQ(reinterpret_cast<const char*>(mem->m_mem_data[3].m_tag), "bank3");
  } else {  // an HBM card: a pseudo-channel per port
    ASSERT_EQ(mem->m_count, kernel::kMemPorts);
    EXPECT_EQ(mem->m_mem_data[kernel::kMemPorts - 1].m_type, MEM_HBM);
  }
  const auto* ip = reinterpret_cast<const ip_layout*>(x.value().Section(XclbinSectionKind::kIpLayout)->data());
  EXPECT_STREQ(reinterpret_cast<const char*>(ip->m_ip_data[0].m_name), "fpgaserve_step:fpgaserve_step_1");
}
#endif

TEST(Xclbin, WriterAndReaderRoundTrip) {
  XclbinWriter w;
  w.set_platform_vbnv("xilinx_aws-vu9p-f1_shell-v04261818_201920_3");
  w.set_uuid({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16});
  w.AddSection(XclbinSectionKind::kEmbeddedMetadata, "", std::string_view("<project/>"));
  w.AddSection(XclbinSectionKind::kUserMetadata, "a_very_long_section_name", std::string_view("odd"));
  const std::vector<uint8_t> bytes = w.Serialize();
  EXPECT_EQ(bytes.size() % 8, 0u);
  Result<Xclbin> x = Xclbin::Parse(bytes, "rt");
  ASSERT_TRUE(x.ok()) << x.status().ToString();
  EXPECT_EQ(x.value().platform_vbnv(), "xilinx_aws-vu9p-f1_shell-v04261818_201920_3");
  EXPECT_EQ(x.value().uuid_string(), "01020304-0506-0708-090a-0b0c0d0e0f10");
  ASSERT_EQ(x.value().sections().size(), 2u);
  EXPECT_EQ(x.value().sections()[1].name, "a_very_long_sec");
  EXPECT_EQ(*x.value().Section(XclbinSectionKind::kEmbeddedMetadata), "<project/>");
  EXPECT_EQ(*x.value().Section(XclbinSectionKind::kUserMetadata), "odd");
  EXPECT_FALSE(x.value().Section(XclbinSectionKind::kIpLayout).has_value());
  EXPECT_EQ(x.value().AwsAfiId(), "");
}

TEST(Xclbin, RejectsDamagedContainersSayingWhy) {
  std::vector<uint8_t> good = MakeMetadataXclbin(MetadataXclbinOptions());
  auto message = [](std::vector<uint8_t> b) {
    Result<Xclbin> x = Xclbin::Parse(std::move(b), "the xclbin f.xclbin");
    EXPECT_FALSE(x.ok());
    EXPECT_EQ(x.status().code(), StatusCode::kInvalidArgument);
    return x.status().message();
  };
  EXPECT_NE(message({1, 2, 3}).find("fewer than"), std::string::npos);
  std::vector<uint8_t> magic = good;
  magic.at(3) = 'X';
  EXPECT_NE(message(magic).find("xclbin2"), std::string::npos);
  std::vector<uint8_t> cut(good.begin(), good.end() - 8);
  EXPECT_NE(message(cut).find("truncated"), std::string::npos);
  std::vector<uint8_t> wild = good;
  wild.at(xclbin_layout::kSectionHeadersOffset + xclbin_layout::kSectionOffset + 7) = 0x7f;  // offset far away
  EXPECT_NE(message(wild).find("outside the file"), std::string::npos);
  EXPECT_NE(message(cut).find("f.xclbin"), std::string::npos);
}

TEST(Xclbin, AwsXclbinCarriesItsAfiIdAndOurMetadata) {
  MetadataXclbinOptions o;
  o.afi_id = "agfi-0fcf87119b8e97bf3";
  Result<Xclbin> x = Xclbin::Parse(MakeMetadataXclbin(o), "aws");
  ASSERT_TRUE(x.ok());
  EXPECT_EQ(x.value().AwsAfiId(), "agfi-0fcf87119b8e97bf3");
  EXPECT_TRUE(ReadBuildInfo(x.value(), "aws").ok());
}

TEST(XclbinBuildInfo, JsonRoundTripAndErrors) {
  XclbinBuildInfo b = BuildInfoFor(KernelLimits::Compiled(), "hw");
  b.limits.max_step = 16;
  Result<XclbinBuildInfo> back = ParseBuildInfo(BuildInfoToJson(b) + "\n", "x");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back.value().limits.max_step, 16);
  EXPECT_EQ(back.value().limits.max_dim, b.limits.max_dim);
  EXPECT_EQ(back.value().target, "hw");
  EXPECT_EQ(back.value().mem_ports, kernel::kMemPorts);
  EXPECT_EQ(back.value().pe_entries, b.pe_entries);

  EXPECT_EQ(ParseBuildInfo("not json", "x").status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(ParseBuildInfo(R"({"schema":"other"})", "x").status().message().find("not fpgaserve"), std::string::npos);
  const std::string no_step = R"({"schema":"fpgaserve.kernel.build/1","max_dim":1})";
  EXPECT_NE(ParseBuildInfo(no_step, "x").status().message().find("max_hidden_dim"), std::string::npos);
}

TEST(XclbinBuildInfo, RefusesTheMetadataOfTheKernelBeforeMemoryPorts) {
  // What kernel/Makefile wrote for kernel/forward.cpp: "banks" (and image version 2), no "mem_ports".
  const std::string old = R"({"schema":"fpgaserve.kernel.build/1","kernel":"fpgaserve_step","target":"hw",)"
                          R"("platform":"p","kernel_mhz":250,"max_dim":768,"max_hidden_dim":2048,"max_layers":12,)"
                          R"("max_heads":12,"max_seq_len":1024,"max_vocab":32000,"max_step":16,"min_group_size":32,)"
                          R"("banks":4,"entry_fields":4,"image_version":2,"kv_value_bytes":2})";
  Result<XclbinBuildInfo> b = ParseBuildInfo(old, "the xclbin old.xclbin");
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(b.status().message().find("old.xclbin"), std::string::npos) << b.status().message();
  EXPECT_NE(b.status().message().find("older kernel"), std::string::npos) << b.status().message();
  EXPECT_NE(b.status().message().find("version 2"), std::string::npos) << b.status().message();
  EXPECT_NE(b.status().message().find("rebuild"), std::string::npos) << b.status().message();
}

// The argument list follows the port count: m0..m{P-1}, in, logits, four scalars, at the register
// offsets Vitis HLS gives them, each pointer on its own AXI master.
TEST(XclbinMetadata, StepArgsFollowTheMemoryPorts) {
  const auto& args = StepArgs();
  ASSERT_EQ(static_cast<int>(args.size()), kernel::kMemPorts + 6);
  for (int p = 0; p < kernel::kMemPorts; p++) {
    EXPECT_EQ(args[kArgPort0 + p].name, "m" + std::to_string(p));
    EXPECT_EQ(args[kArgPort0 + p].port, "M_AXI_GMEM" + std::to_string(p));
    EXPECT_EQ(args[kArgPort0 + p].bank, p) << "port buffers on distinct memories, so the ports stream at once";
  }
  EXPECT_EQ(args[kArgIn].name, "in");
  EXPECT_EQ(args[kArgLogits].name, "logits");
  EXPECT_EQ(args[kArgNEntries].name, "n_entries");
  EXPECT_EQ(args[kArgNSlots].name, "n_slots");
  EXPECT_EQ(args[kArgCacheLen].name, "cache_len");
  EXPECT_EQ(args[kArgKvBase].name, "kv_base");
  std::map<std::string, int> masters;
  uint32_t offset = 0x10;
  for (const StepArgSpec& a : args) {
    EXPECT_EQ(a.offset, offset) << a.name;
    offset += a.global ? 12 : 8;
    EXPECT_EQ(a.size, a.global ? 8u : 4u) << a.name;
    if (a.global) {
      EXPECT_EQ(masters[a.port]++, 0) << a.port << " shared";
    } else {
      EXPECT_EQ(a.port, "S_AXI_CONTROL");
      EXPECT_EQ(a.bank, -1);
    }
  }
}

// The DDR cards' link configs (kernel/platforms/aws-f1.cfg, u200, u250) are what v++ wires; StepArgs() is
// what the test xclbin and the host expect. (tests/fpga/platform_configs_test.cpp checks every card's.)
TEST(XclbinMetadata, LinkConfigMatchesTheArgumentTable) {
  if (kernel::kMemPorts != 4) {
    GTEST_SKIP() << "kernel/platforms/aws-f1.cfg wires the 4-port DDR build; this build has " << kernel::kMemPorts
                 << " memory ports";
  }
  std::ifstream in(testing::SourceDir() + "/kernel/platforms/aws-f1.cfg");
  ASSERT_TRUE(in) << "kernel/platforms/aws-f1.cfg";
  std::map<std::string, int> sp;
  std::string line;
  bool nk = false;
  // Lines "sp=fpgaserve_step_1.<arg>:DDR[<bank>]" (parsed by hand: std::regex trips GCC 12's
  // -Wmaybe-uninitialized under the sanitizers).
  const std::string prefix = "sp=fpgaserve_step_1.";
  while (std::getline(in, line)) {
    if (line == "nk=fpgaserve_step:1:fpgaserve_step_1") nk = true;
    if (line.rfind(prefix, 0) != 0) continue;
    const size_t colon = line.find(":DDR[", prefix.size());
    ASSERT_NE(colon, std::string::npos) << line;
    sp[line.substr(prefix.size(), colon - prefix.size())] = std::stoi(line.substr(colon + 5));
  }
  EXPECT_TRUE(nk) << "one compute unit named " << kStepInstanceName;
  size_t pointers = 0;
  for (const StepArgSpec& a : StepArgs()) {
    if (!a.global) continue;
    pointers++;
    ASSERT_TRUE(sp.count(a.name)) << "link.cfg has no sp= line for " << a.name;
    EXPECT_EQ(sp[a.name], a.bank) << a.name;
  }
  EXPECT_EQ(sp.size(), pointers) << "link.cfg wires an argument the kernel does not have";
}

// `make build-info` writes the JSON the real flow adds to the xclbin; the host must read it.
TEST(XclbinMetadata, KernelMakefileWritesMetadataTheHostReads) {
  if (std::system("command -v make >/dev/null 2>&1") != 0) GTEST_SKIP() << "make is not installed";
  testing::TempDir dir;
  const std::string cmd = "make -s -C " + testing::SourceDir() + "/kernel build-info BUILD_DIR=" + dir.path() +
                          " MAX_STEP=32 >/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  const std::string json = testing::ReadFile(dir.file("fpgaserve_build.json"));
  Result<XclbinBuildInfo> b = ParseBuildInfo(json, "kernel/Makefile's build info");
  ASSERT_TRUE(b.ok()) << b.status().ToString() << "\n" << json;
  EXPECT_EQ(b.value().limits.max_step, 32);
  EXPECT_EQ(b.value().limits.max_dim, 768);
  EXPECT_EQ(b.value().limits.max_vocab, 32000);
  EXPECT_EQ(b.value().limits.min_group_size, KernelLimits::Compiled().min_group_size);
  EXPECT_EQ(b.value().mem_ports, 4);
  EXPECT_EQ(b.value().pe_entries, 16);
  EXPECT_EQ(b.value().entry_fields, 4);
  EXPECT_EQ(b.value().image_version, kernel::kImageVersion);
  EXPECT_EQ(b.value().kv_value_bytes, static_cast<int>(sizeof(kernel::KvValue)));
  EXPECT_EQ(b.value().platform, kF1Platform);
  EXPECT_EQ(b.value().card, "aws-f1");

  // An HBM build: the port count and PE width it is given.
  const std::string hbm = "make -s -C " + testing::SourceDir() + "/kernel build-info BUILD_DIR=" + dir.path() +
                          "/hbm MEM_PORTS=32 PE_ENTRIES=8 >/dev/null";
  ASSERT_EQ(std::system(hbm.c_str()), 0) << hbm;
  Result<XclbinBuildInfo> h = ParseBuildInfo(testing::ReadFile(dir.path() + "/hbm/fpgaserve_build.json"), "hbm");
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h.value().mem_ports, 32);
  EXPECT_EQ(h.value().pe_entries, 8);
}

}  // namespace
TEST(Xclbin, ArgumentGroupsIndexTheGroupTopologyWhenThereIsOne) {
  // Without groups: MEM_TOPOLOGY, and ReadMemoryGroups reads the same.
  Result<Xclbin> plain = Xclbin::Parse(MakeMetadataXclbin(MetadataXclbinOptions()), "plain");
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_FALSE(plain.value().Section(XclbinSectionKind::kGroupTopology));
  Result<std::vector<XclbinMemory>> mem = ReadMemTopology(plain.value(), "plain");
  Result<std::vector<XclbinMemory>> groups = ReadMemoryGroups(plain.value(), "plain");
  ASSERT_TRUE(mem.ok() && groups.ok());
  ASSERT_EQ(groups.value().size(), mem.value().size());
  for (size_t i = 0; i < mem.value().size(); i++) EXPECT_EQ(groups.value()[i].tag, mem.value()[i].tag);

  // With a group (in and logits on memories 0 and 1): GROUP_TOPOLOGY is MEM_TOPOLOGY plus the group,
  // and GROUP_CONNECTIVITY puts in and logits on it, past MEM_TOPOLOGY's end.
  MetadataXclbinOptions o;
  o.io_memory_group = true;
  Result<Xclbin> x = Xclbin::Parse(MakeMetadataXclbin(o), "grouped");
  ASSERT_TRUE(x.ok()) << x.status().ToString();
  Result<std::vector<XclbinMemory>> m = ReadMemTopology(x.value(), "grouped");
  Result<std::vector<XclbinMemory>> g = ReadMemoryGroups(x.value(), "grouped");
  ASSERT_TRUE(m.ok() && g.ok());
  ASSERT_EQ(g.value().size(), m.value().size() + 1);
  const XclbinMemory& group = g.value().back();
  EXPECT_EQ(group.tag, m.value()[0].tag + "+1");
  EXPECT_EQ(group.bytes, m.value()[0].bytes + m.value()[1].bytes);
  const auto* conn = reinterpret_cast<const connectivity*>(
      x.value().Section(XclbinSectionKind::kGroupConnectivity)->data());
  for (int c = 0; c < conn->m_count; c++) {
    const int arg = conn->m_connection[c].arg_index;
    EXPECT_EQ(conn->m_connection[c].mem_data_index,
              arg == kArgIn || arg == kArgLogits ? static_cast<int>(m.value().size()) : StepArgs()[arg].bank);
  }

  // A malformed GROUP_TOPOLOGY is named as such.
  XclbinWriter w;
  w.AddSection(XclbinSectionKind::kMemTopology, "", std::vector<uint8_t>(8, 0));
  w.AddSection(XclbinSectionKind::kGroupTopology, "", std::vector<uint8_t>{9, 0, 0, 0, 0, 0, 0, 0});
  Result<Xclbin> bad = Xclbin::Parse(w.Serialize(), "bad");
  ASSERT_TRUE(bad.ok()) << bad.status().ToString();
  Result<std::vector<XclbinMemory>> b = ReadMemoryGroups(bad.value(), "bad");
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find("GROUP_TOPOLOGY says 9 memories"), std::string::npos) << b.status().ToString();
}

}  // namespace fpgaserve
