// fpgaserve xclbin info | make-test: look inside an .xclbin / .awsxclbin, and write the metadata-only
// xclbin that XRT's noop shim loads (for trying `serve --device xrt:0` without a card).
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fpga/kernel_limits.h"
#include "fpga/xclbin.h"
#include "fpga/xclbin_metadata.h"
#include "server/cli/commands.h"

namespace fpgaserve::cli {

void AddXclbinCommand(CLI::App& app) {
  CLI::App* xclbin = app.add_subcommand("xclbin", "Inspect an xclbin, or write a test xclbin for XRT's noop shim");
  xclbin->require_subcommand(1);

  // xclbin info FILE
  {
    CLI::App* info = xclbin->add_subcommand("info", "Print an xclbin's sections, kernel contract and build maxima");
    auto file = std::make_shared<std::string>();
    info->add_option("FILE", *file, ".xclbin or .awsxclbin")->required();
    info->callback([file] {
      Result<Xclbin> x = Xclbin::ReadFile(*file);
      if (!x.ok()) Fail(x.status().message());
      const Xclbin& b = x.value();
      std::printf("%s: xclbin, %zu bytes, platform %s, uuid %s\n", file->c_str(), b.bytes().size(),
                  b.platform_vbnv().empty() ? "(none)" : b.platform_vbnv().c_str(), b.uuid_string().c_str());
      const std::string afi = b.AwsAfiId();
      if (!afi.empty()) std::printf("AWS F1 .awsxclbin: loads the AFI %s\n", afi.c_str());
      for (const XclbinSectionInfo& s : b.sections()) {
        std::printf("  section %-20s %10llu bytes%s%s\n", XclbinSectionKindName(s.kind).c_str(),
                    static_cast<unsigned long long>(s.size), s.name.empty() ? "" : "  ", s.name.c_str());
      }
      if (std::optional<int> mhz = ReadDataClockMhz(b)) std::printf("data clock (CLOCK_FREQ_TOPOLOGY): %d MHz\n", *mhz);
      Result<std::vector<XclbinMemory>> memories = ReadMemTopology(b, "the xclbin " + *file);
      if (memories.ok()) {
        std::printf("memories (MEM_TOPOLOGY):");
        for (size_t i = 0; i < memories.value().size(); i++) {
          const XclbinMemory& m = memories.value()[i];
          std::printf("%s %zu:%s %s", i % 6 == 0 ? "\n " : ",", i, m.tag.c_str(), XclbinMemoryTypeName(m.type).c_str());
        }
        std::printf("\n");
      }
      Result<XclbinBuildInfo> build = ReadBuildInfo(b, "the xclbin " + *file);
      if (!build.ok()) {
        std::printf("fpgaserve build metadata: %s\n", build.status().message().c_str());
        return;
      }
      const XclbinBuildInfo& m = build.value();
      const KernelLimits& l = m.limits;
      std::printf("fpgaserve build: kernel %s, target %s, card %s, platform %s, %d MHz asked, %s achieved\n",
                  m.kernel.c_str(), m.target.c_str(), m.card.empty() ? "(not recorded)" : m.card.c_str(),
                  m.platform.c_str(), m.kernel_mhz,
                  m.kernel_mhz_achieved > 0 ? (std::to_string(m.kernel_mhz_achieved) + " MHz").c_str()
                                            : "(not recorded)");
      std::printf(
          "  maxima: dim %d, hidden_dim %d, layers %d, heads %d, seq_len %d, vocab %d, step %d; group size a "
          "multiple of %d; %d memory ports\n",
          l.max_dim, l.max_hidden_dim, l.max_layers, l.max_heads, l.max_seq_len, l.max_vocab, l.max_step,
          l.min_group_size, m.mem_ports);
    });
  }

  // xclbin make-test OUT [--max-* N] [--afi ID]
  {
    CLI::App* make = xclbin->add_subcommand(
        "make-test", "Write a metadata-only xclbin of the kernel (no bitstream) that XRT's noop shim can load");
    struct Options {
      std::string out;
      KernelLimits limits = KernelLimits::Compiled();
      std::string afi;
      std::string card;
    };
    auto o = std::make_shared<Options>();
    make->add_option("OUT", o->out, "output file")->required();
    make->add_option("--max-dim", o->limits.max_dim, "FPGASERVE_MAX_DIM")->capture_default_str();
    make->add_option("--max-hidden-dim", o->limits.max_hidden_dim, "FPGASERVE_MAX_HIDDEN_DIM")->capture_default_str();
    make->add_option("--max-layers", o->limits.max_layers, "FPGASERVE_MAX_LAYERS")->capture_default_str();
    make->add_option("--max-heads", o->limits.max_heads, "FPGASERVE_MAX_HEADS")->capture_default_str();
    make->add_option("--max-seq-len", o->limits.max_seq_len, "FPGASERVE_MAX_SEQ_LEN")->capture_default_str();
    make->add_option("--max-vocab", o->limits.max_vocab, "FPGASERVE_MAX_VOCAB")->capture_default_str();
    make->add_option("--max-step", o->limits.max_step, "FPGASERVE_MAX_STEP")->capture_default_str();
    make->add_option("--card", o->card,
                     "lay out MEM_TOPOLOGY and the wiring as this card's (aws-f1, u200, u250, u55c, "
                     "u280; kernel/platforms/)");
    make->add_option("--afi", o->afi, "write an .awsxclbin whose BITSTREAM holds this AFI id (agfi-...)");
    make->callback([o] {
      MetadataXclbinOptions x;
      x.build = BuildInfoFor(o->limits, "test");
      x.afi_id = o->afi;
      if (!o->card.empty()) {
        const PlatformMemories* card = FindPlatformMemories(o->card);
        if (card == nullptr) Fail("--card: unknown card '" + o->card + "' (aws-f1, u200, u250, u55c, u280)");
        x.card = o->card;
        x.build.card = o->card;
        x.build.platform = card->vitis_platform;
      }
      const std::vector<uint8_t> bytes = MakeMetadataXclbin(x);
      std::ofstream out(o->out, std::ios::binary | std::ios::trunc);
      out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
      if (!out.flush()) Fail("cannot write " + o->out);
      std::printf(
          "wrote %s (%zu bytes): kernel %s, no bitstream; load it with XCL_EMULATION_MODE=noop "
          "(tools/xrt-noop-env.sh)\n",
          o->out.c_str(), bytes.size(), kStepKernelName);
    });
  }
}

}  // namespace fpgaserve::cli
