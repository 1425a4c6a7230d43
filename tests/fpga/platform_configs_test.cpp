// The per-card build files (kernel/platforms/<card>.mk and .cfg) against what the host knows of each card:
// every memory a link config names exists on that card (fpga/platform_memory.h's table, from the cards'
// documentation), ports are wired one to a memory as the table says, the SLR exists, and the port count,
// PE width, clock and step maxima agree with `fpgaserve estimate`'s Platforms() and with what
// `make build-info` records. Also: the Makefile refuses a link config of another port count, and
// tools/xclbin_clock.py reads the clock an xclbin's link achieved.
#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "fpga/perf_model.h"
#include "fpga/platform_memory.h"
#include "fpga/xclbin.h"
#include "fpga/xclbin_metadata.h"
#include "server/model/random_model.h"
#include "support/test_support.h"

namespace fpgaserve {
namespace {

struct LinkConfig {
  bool has_connectivity = false;
  std::vector<std::string> nk;
  std::map<std::string, std::string> sp;  // argument -> memory
  std::vector<std::string> slr;           // CU:SLRn
  std::vector<std::string> vivado;        // prop= lines of [vivado]
  std::vector<std::string> errors;
};

// The [connectivity] section's lines: nk=, sp=<cu>.<arg>:<memory>, slr=<cu>:<SLR>; the [vivado] section's prop=
// lines. Comments and blanks skipped.
LinkConfig ReadLinkConfig(const std::string& path) {
  LinkConfig c;
  std::ifstream in(path);
  if (!in) {
    c.errors.push_back("cannot read " + path);
    return c;
  }
  std::string line;
  const std::string cu = std::string(kStepInstanceName) + ".";
  bool in_vivado = false;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (line == "[connectivity]") {
      c.has_connectivity = true;
      in_vivado = false;
    } else if (line == "[vivado]") {
      in_vivado = true;
    } else if (in_vivado) {
      if (line.rfind("prop=run.impl_1.", 0) == 0) c.vivado.push_back(line.substr(5));
      else c.errors.push_back("unexpected [vivado] line: " + line);
    } else if (line.rfind("nk=", 0) == 0) {
      c.nk.push_back(line.substr(3));
    } else if (line.rfind("sp=", 0) == 0) {
      const std::string v = line.substr(3);
      const size_t colon = v.find(':');
      if (v.rfind(cu, 0) != 0 || colon == std::string::npos) {
        c.errors.push_back("malformed sp line: " + line);
        continue;
      }
      const std::string arg = v.substr(cu.size(), colon - cu.size());
      if (c.sp.count(arg)) c.errors.push_back("argument wired twice: " + arg);
      c.sp[arg] = v.substr(colon + 1);
    } else if (line.rfind("slr=", 0) == 0) {
      c.slr.push_back(line.substr(4));
    } else {
      c.errors.push_back("unexpected line: " + line);
    }
  }
  return c;
}

std::string PlatformFile(const std::string& card, const std::string& ext) {
  return testing::SourceDir() + "/kernel/platforms/" + card + ext;
}

TEST(PlatformConfigs, EveryEstimatePlatformHasABuildAndAMemoryTable) {
  std::set<std::string> estimate, table;
  for (const Platform& pf : Platforms()) estimate.insert(pf.name);
  for (const PlatformMemories& m : PlatformMemoryTable()) table.insert(m.card);
  EXPECT_EQ(estimate, table) << "fpga/perf_model.cpp and fpga/platform_memory.cpp name other cards";
  for (const std::string& card : estimate) {
    EXPECT_TRUE(std::ifstream(PlatformFile(card, ".mk")).good()) << card << ".mk";
    EXPECT_TRUE(std::ifstream(PlatformFile(card, ".cfg")).good()) << card << ".cfg";
  }
}

TEST(PlatformConfigs, LinkConfigsNameOnlyMemoriesTheirCardHas) {
  for (const Platform& pf : Platforms()) {
    SCOPED_TRACE(pf.name);
    const PlatformMemories* mem = FindPlatformMemories(pf.name);
    ASSERT_NE(mem, nullptr);
    const LinkConfig c = ReadLinkConfig(PlatformFile(pf.name, ".cfg"));
    EXPECT_TRUE(c.errors.empty()) << c.errors.front();
    EXPECT_TRUE(c.has_connectivity);
    EXPECT_EQ(c.nk, std::vector<std::string>{std::string(kStepKernelName) + ":1:" + kStepInstanceName});

    // Every memory exists on the card.
    for (const auto& [arg, memory] : c.sp) {
      EXPECT_GE(MemoryIndex(*mem, memory), 0)
          << arg << " is wired to " << memory << ", which " << pf.name << " does not have";
    }
    // Port p on <prefix>[p], each on its own memory; exactly the card's port count; in and logits on
    // the card's io memory; nothing else.
    std::set<std::string> port_memories;
    for (int p = 0; p < pf.mem_ports; p++) {
      const std::string arg = "m" + std::to_string(p);
      ASSERT_TRUE(c.sp.count(arg)) << "no sp= line for " << arg;
      EXPECT_EQ(c.sp.at(arg), mem->port_prefix + "[" + std::to_string(p) + "]");
      port_memories.insert(c.sp.at(arg));
    }
    EXPECT_EQ(static_cast<int>(port_memories.size()), pf.mem_ports) << "two ports share a memory";
    ASSERT_TRUE(c.sp.count("in") && c.sp.count("logits"));
    EXPECT_EQ(c.sp.at("in"), mem->io_memory);
    EXPECT_EQ(c.sp.at("logits"), mem->io_memory);
    EXPECT_EQ(static_cast<int>(c.sp.size()), pf.mem_ports + 2) << "an sp= line for an argument the kernel lacks";

    // No placement: the compute unit is larger than one SLR (its DSPs, by the model, against the part's per SLR),
    // and an slr= line would confine it to one; Vivado is asked for the strategies of designs spanning SLRs.
    EXPECT_TRUE(c.slr.empty()) << "slr= pins a compute unit larger than one SLR into one: " << c.slr.front();
    const Resources r = EstimateStep(NamedShape("stories110M").value(), 1, 0, pf).resources;
    EXPECT_GT(r.dsp, static_cast<double>(pf.dsp) / mem->slrs)
        << "the compute unit would fit one SLR: placing it there is an option";
    EXPECT_NE(std::find(c.vivado.begin(), c.vivado.end(),
                        "run.impl_1.STEPS.PLACE_DESIGN.ARGS.DIRECTIVE=SSI_SpreadLogic_high"),
              c.vivado.end());

    // The memory kind the performance model assumes.
    const XclbinMemoryType kind = pf.memory == "HBM2" ? XclbinMemoryType::kHbm : XclbinMemoryType::kDdr4;
    EXPECT_EQ(mem->resources[MemoryIndex(*mem, c.sp.at("m0"))].type, kind);
  }
}

// What `make build-info PLATFORM=<card>` records is what the estimate models and the table expects.
TEST(PlatformConfigs, MakefilePresetsAgreeWithTheEstimate) {
  if (std::system("command -v make >/dev/null 2>&1") != 0) GTEST_SKIP() << "make is not installed";
  testing::TempDir dir;
  for (const Platform& pf : Platforms()) {
    SCOPED_TRACE(pf.name);
    const std::string out = dir.path() + "/" + pf.name;
    const std::string cmd = "env -u AWS_PLATFORM make -s -C " + testing::SourceDir() +
                            "/kernel build-info PLATFORM=" + pf.name + " BUILD_DIR=" + out + " >/dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    Result<XclbinBuildInfo> b = ParseBuildInfo(testing::ReadFile(out + "/fpgaserve_build.json"), pf.name);
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    EXPECT_EQ(b.value().card, pf.name);
    EXPECT_EQ(b.value().platform, FindPlatformMemories(pf.name)->vitis_platform);
    EXPECT_EQ(b.value().mem_ports, pf.mem_ports);
    EXPECT_EQ(b.value().pe_entries, pf.pe_entries);
    // Speed and area only (the host does not depend on them), so only the JSON records them.
    const std::string json = testing::ReadFile(out + "/fpgaserve_build.json");
    EXPECT_NE(json.find("\"scale_rows\":" + std::to_string(pf.scale_rows) + ","), std::string::npos) << json;
    EXPECT_NE(json.find("\"attention_chains\":" + std::to_string(pf.attention_chains) + ","), std::string::npos)
        << json;
    EXPECT_EQ(b.value().kernel_mhz, static_cast<int>(pf.kernel_mhz));
    EXPECT_EQ(b.value().limits.max_step, pf.max_step);
    EXPECT_EQ(b.value().kernel_mhz_achieved, 0) << "only a linked xclbin knows its clock";
  }
  EXPECT_NE(std::system(
                ("make -s -C " + testing::SourceDir() + "/kernel build-info PLATFORM=f2 >/dev/null 2>&1").c_str()),
            0)
      << "an unknown card must be refused";
}

TEST(PlatformConfigs, MakefileRefusesALinkConfigOfAnotherPortCount) {
  if (std::system("command -v make >/dev/null 2>&1") != 0) GTEST_SKIP() << "make is not installed";
  const std::string make = "make -s -C " + testing::SourceDir() + "/kernel check-link ";
  EXPECT_EQ(std::system((make + "PLATFORM=u280 >/dev/null 2>&1").c_str()), 0);
  EXPECT_EQ(std::system((make + "PLATFORM=u200 >/dev/null 2>&1").c_str()), 0);
  EXPECT_NE(std::system((make + "PLATFORM=u280 MEM_PORTS=4 >/dev/null 2>&1").c_str()), 0);
  EXPECT_NE(std::system((make + "PLATFORM=u250 MEM_PORTS=32 >/dev/null 2>&1").c_str()), 0);
}

// After v++ -l, kernel/Makefile dumps CLOCK_FREQ_TOPOLOGY raw and tools/xclbin_clock.py records the data
// clock in the build metadata; the host reads the same section (ReadDataClockMhz).
TEST(PlatformConfigs, TheAchievedClockIsReadFromTheClockSection) {
  if (std::system("command -v python3 >/dev/null 2>&1") != 0) GTEST_SKIP() << "python3 is not installed";
  MetadataXclbinOptions o;
  o.card = "u250";
  o.build.kernel_mhz = 300;
  o.achieved_mhz = 237;  // v++ scaled the clock down
  Result<Xclbin> x = Xclbin::Parse(MakeMetadataXclbin(o), "test");
  ASSERT_TRUE(x.ok()) << x.status().ToString();
  EXPECT_EQ(ReadDataClockMhz(x.value()), 237);
  EXPECT_EQ(x.value().platform_vbnv(), FindPlatformMemories("u250")->vitis_platform);

  testing::TempDir dir;
  const std::string section(*x.value().Section(XclbinSectionKind::kClockFreqTopology));
  ASSERT_TRUE(testing::WriteFile(dir.file("clock.bin"), section));
  ASSERT_TRUE(testing::WriteFile(dir.file("build.json"), BuildInfoToJson(o.build)));
  const std::string tool = "python3 " + testing::SourceDir() + "/tools/xclbin_clock.py ";
  ASSERT_EQ(std::system((tool + dir.file("clock.bin") + " > " + dir.file("mhz")).c_str()), 0);
  EXPECT_EQ(testing::ReadFile(dir.file("mhz")), "237\n");
  ASSERT_EQ(std::system((tool + "--merge " + dir.file("build.json") + " " + dir.file("clock.bin") + " > " +
                         dir.file("final.json"))
                            .c_str()),
            0);
  Result<XclbinBuildInfo> b = ParseBuildInfo(testing::ReadFile(dir.file("final.json")), "final");
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(b.value().kernel_mhz, 300);
  EXPECT_EQ(b.value().kernel_mhz_achieved, 237);

  // A truncated section is refused, not read as some clock.
  ASSERT_TRUE(testing::WriteFile(dir.file("short.bin"), section.substr(0, 40)));
  EXPECT_NE(std::system((tool + dir.file("short.bin") + " >/dev/null 2>&1").c_str()), 0);
}

TEST(PlatformConfigs, MemTopologyOfEachCardReadsBack) {
  for (const PlatformMemories& card : PlatformMemoryTable()) {
    SCOPED_TRACE(card.card);
    MetadataXclbinOptions o;
    o.card = card.card;
    Result<Xclbin> x = Xclbin::Parse(MakeMetadataXclbin(o), "test");
    ASSERT_TRUE(x.ok());
    Result<std::vector<XclbinMemory>> m = ReadMemTopology(x.value(), "test");
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    ASSERT_EQ(m.value().size(), card.resources.size());
    for (size_t i = 0; i < card.resources.size(); i++) {
      EXPECT_EQ(m.value()[i].tag, card.resources[i].name);
      EXPECT_EQ(m.value()[i].type, static_cast<uint8_t>(card.resources[i].type));
      EXPECT_EQ(m.value()[i].bytes, card.resources[i].bytes);
    }
  }
}

}  // namespace
}  // namespace fpgaserve
