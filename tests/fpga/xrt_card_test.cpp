// The XRT card's call sequence on XRT's noop shim: open, check and load the xclbin, one buffer per memory
// port (image part + KV share) and the step buffers in the memories of the link config, weight upload,
// steps, timeouts, and every xclbin it must refuse. The noop shim computes nothing (logits come back as
// the zeros the card wrote into a fresh buffer); the math is tested on the simulated card and the card
// kernel's C simulation (tests/kernel), the logits reordering here without a card.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "fpga/device_pool.h"
#include "fpga/platform_memory.h"
#include "fpga/weights_image.h"
#include "fpga/xclbin_metadata.h"
#include "kernel/card/card.h"
#include "server/model/random_model.h"
#include "support/test_support.h"
#ifdef FPGASERVE_HAVE_XRT
#include "fpga/xrt_card.h"
#include "fpga/xrt_noop_env.h"  // tests/fpga/
#endif

namespace fpgaserve {
namespace {

#ifndef FPGASERVE_HAVE_XRT

TEST(XrtCard, SkippedWithoutXrt) {
  GTEST_SKIP() << "this build has no XRT card (XRT not found or -DFPGASERVE_XRT=OFF); install libxrt-dev and uuid-dev";
}

#else

std::shared_ptr<const WeightsImage> TinyImage() {
  static std::shared_ptr<const WeightsImage> image = [] {
    Result<ModelConfig> config = NamedShape("tiny");
    EXPECT_TRUE(config.ok());
    RandomModel m = MakeRandomModel(config.value(), 7);
    Result<std::shared_ptr<const WeightsImage> > packed = WeightsImage::Pack(m.view);
    EXPECT_TRUE(packed.ok()) << packed.status().ToString();
    return packed.value();
  }();
  return image;
}

// Limits that fit the tiny model with room, like an F1 build's do for stories110M.
KernelLimits TinyLimits() {
  KernelLimits l = KernelLimits::Compiled();
  l.max_dim = 128;
  l.max_hidden_dim = 256;
  l.max_layers = 4;
  l.max_heads = 8;
  l.max_seq_len = 128;
  l.max_vocab = 1024;
  l.max_step = 8;
  return l;
}

MetadataXclbinOptions TinyXclbin() {
  MetadataXclbinOptions o;
  o.build = BuildInfoFor(TinyLimits(), "test");
  return o;
}

class XrtCardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string error = testing::UseXrtNoop();
    ASSERT_EQ(error, "") << "cannot set up XRT's noop shim";
  }

  std::string Write(const std::vector<uint8_t>& bytes, const std::string& name = "fpgaserve.xclbin") {
    const std::string path = dir_.file(name);
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    return path;
  }

  XrtCardOptions Options(const std::string& xclbin) {
    XrtCardOptions o;
    o.device = "0";
    o.xclbin = xclbin;
    o.n_slots = 4;
    o.cache_len = 64;
    o.timeout_ms = 5000;
    return o;
  }

  Result<std::unique_ptr<XrtCard> > OpenWith(const MetadataXclbinOptions& x,
                                             const std::string& name = "fpgaserve.xclbin") {
    return XrtCard::Open(TinyImage(), Options(Write(MakeMetadataXclbin(x), name)));
  }

  testing::TempDir dir_;
};

Step Decode(int n, int pos) {
  Step s;
  for (int i = 0; i < n; i++) s.entries.push_back({/*token=*/i + 1, pos, /*slot=*/i, /*out_row=*/i});
  s.n_out_rows = n;
  return s;
}

TEST_F(XrtCardTest, OpensLoadsTheXclbinAndReportsTheCardsShape) {
  Result<std::unique_ptr<XrtCard> > card = OpenWith(TinyXclbin());
  ASSERT_TRUE(card.ok()) << card.status().ToString();
  const DeviceInfo& info = card.value()->info();
  EXPECT_EQ(info.name.rfind("xrt0 (", 0), 0u) << info.name;
  EXPECT_EQ(info.model, TinyImage()->config());
  EXPECT_EQ(info.n_slots, 4);
  EXPECT_EQ(info.cache_len, 64);
  EXPECT_EQ(info.max_step, TinyLimits().max_step) << "max_step comes from the xclbin's maxima";
  const ModelConfig& c = TinyImage()->config();
  const int hs = c.head_size();
  EXPECT_EQ(info.kv_bytes_per_slot,
            2ull * c.n_layers * 64 * c.n_kv_heads * kernel::KvHeadStride(hs) * sizeof(kernel::KvValue));
  EXPECT_EQ(card.value()->build_info().limits.max_dim, 128);
  EXPECT_EQ(card.value()->build_info().mem_ports, kernel::kMemPorts);
  EXPECT_TRUE(card.value()->Healthy());
  // kv_base: the image part in whole words.
  const int64_t kv_base = static_cast<int64_t>((TinyImage()->port_bytes() + 63) / 64);
  EXPECT_EQ(card.value()->kv_base(), kv_base);
  // One buffer per memory port (image part, then that port's KV share), the step input (kernel.h's entry
  // part, then the xclbin's max_step (8) RoPE rows), and the logits of 8 rows, each in whole 4 KiB pages.
  auto pages = [](uint64_t bytes) { return (bytes + 4095) / 4096 * 4096; };
  const int64_t kv_words = kernel::KvPortWords(c.n_layers, 4, c.n_kv_heads, 64, hs);
  const uint64_t port = static_cast<uint64_t>(kv_base + kv_words) * 64;
  const uint64_t in = kernel::kInputEntryBytes + 8ull * kernel::kRopeBytes;
  const uint64_t logits = static_cast<uint64_t>(kernel::CardLogitsWords(c.vocab_size, 8)) * 64;
  EXPECT_EQ(card.value()->device_bytes(), kernel::kMemPorts * pages(port) + pages(in) + pages(logits));
  // The KV shares together hold every slot's cache (each port its lines, rounded up to whole lines).
  EXPECT_GE(static_cast<uint64_t>(kv_words) * 64 * kernel::kMemPorts, 4 * info.kv_bytes_per_slot);
}

TEST_F(XrtCardTest, CapsTheStepAtTheHostsMaximum) {
  // An xclbin built for longer steps than this host lays out (BuildStepInput's kMaxStep).
  MetadataXclbinOptions o = TinyXclbin();
  o.build.limits.max_step = 2 * kernel::kMaxStep;
  Result<std::unique_ptr<XrtCard> > card = OpenWith(o, "long.xclbin");
  ASSERT_TRUE(card.ok()) << card.status().ToString();
  EXPECT_EQ(card.value()->info().max_step, kernel::kMaxStep);
}

TEST(CardLogitsToRows, PutsTheCardsTilesInRowOrder) {
  // A vocabulary that ends mid-tile and does not fill every port's tiles: tile t of row r holds the values
  // r * 100000 + t * 16 + j, so every row position must come back as r * 100000 + its index.
  const int vocab = 16 * 9 + 5, n_out = 3;
  std::vector<uint8_t> words(kernel::CardLogitsWords(vocab, n_out) * kernel::kWordBytes, 0xff);
  for (int r = 0; r < n_out; r++) {
    for (int t = 0; t < kernel::TileCount(vocab); t++) {
      for (int j = 0; j < kernel::kTileRows; j++) {
        const float v = static_cast<float>(r * 100000 + t * kernel::kTileRows + j);
        std::memcpy(&words[(kernel::CardLogitsWord(t, r, vocab, n_out) * 16 + j) * 4], &v, 4);
      }
    }
  }
  const float sentinel = -1.0f;
  std::vector<float> rows(n_out * vocab + 7, sentinel);
  CardLogitsToRows(words.data(), vocab, n_out, rows.data());
  for (int r = 0; r < n_out; r++) {
    for (int i = 0; i < vocab; i++) {
      ASSERT_EQ(rows[r * vocab + i], static_cast<float>(r * 100000 + i)) << "row " << r << " index " << i;
    }
  }
  for (size_t i = n_out * vocab; i < rows.size(); i++) EXPECT_EQ(rows[i], sentinel) << "wrote past the rows";
}

TEST_F(XrtCardTest, PlacesEveryBufferInTheBankTheConnectivityNames) {
  // The link config's wiring (kernel/platforms/aws-f1.cfg, mirrored by StepArgs()): port p in memory p.
  Result<std::unique_ptr<XrtCard> > card = OpenWith(TinyXclbin());
  ASSERT_TRUE(card.ok()) << card.status().ToString();
  for (int i = 0; i < kStepArgCount; i++) {
    EXPECT_EQ(card.value()->arg_banks()[i], StepArgs()[i].bank) << "argument " << StepArgs()[i].name;
  }
  card.value().reset();

  // Another wiring: the card follows the xclbin's CONNECTIVITY (through kernel.group_id), not a table.
  // Ports in reverse order, the step input and logits on the second and third memory.
  MetadataXclbinOptions rewired = TinyXclbin();
  const int memories = std::max(4, kernel::kMemPorts);  // MakeMetadataXclbin's MEM_TOPOLOGY
  rewired.banks.fill(-1);
  for (int p = 0; p < kernel::kMemPorts; p++) rewired.banks[kArgPort0 + p] = memories - 1 - p;
  rewired.banks[kArgIn] = 1;
  rewired.banks[kArgLogits] = 2;
  Result<std::unique_ptr<XrtCard> > other = OpenWith(rewired, "rewired.xclbin");
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  for (int i = 0; i < kStepArgCount; i++) {
    EXPECT_EQ(other.value()->arg_banks()[i], StepArgs()[i].global ? rewired.banks[i] : -1)
        << "argument " << StepArgs()[i].name;
  }
}

// With a group of memories (v++'s GROUP_TOPOLOGY and GROUP_CONNECTIVITY, from sp=...:HBM[0:1]), XRT answers
// group_id with the group's index, past MEM_TOPOLOGY's end: the card finds it in GROUP_TOPOLOGY.
TEST_F(XrtCardTest, PlacesBuffersInAGroupOfMemoriesFromTheGroupTopology) {
  MetadataXclbinOptions o = TinyXclbin();
  o.io_memory_group = true;
  Result<std::unique_ptr<XrtCard> > card = OpenWith(o, "grouped.xclbin");
  ASSERT_TRUE(card.ok()) << card.status().ToString();
  const int memories = std::max(4, kernel::kMemPorts);  // MakeMetadataXclbin's MEM_TOPOLOGY
  const std::string group = (kernel::kMemPorts <= 4 ? std::string("bank0") : std::string("HBM[0]")) + "+1";
  for (int arg : {kArgIn, kArgLogits}) {
    EXPECT_EQ(card.value()->arg_banks()[arg], memories) << StepArgs()[arg].name;
    EXPECT_EQ(card.value()->arg_memories()[arg], group) << StepArgs()[arg].name;
  }
  for (int p = 0; p < kernel::kMemPorts; p++) EXPECT_EQ(card.value()->arg_banks()[kArgPort0 + p], p);
  std::vector<float> logits(card.value()->info().max_step * card.value()->info().model.vocab_size);
  EXPECT_TRUE(card.value()->Run(Decode(1, 0), logits.data()).ok());
}

TEST_F(XrtCardTest, RunsStepsAndReadsBackOnlyTheRowsAskedFor) {
  Result<std::unique_ptr<XrtCard> > opened = OpenWith(TinyXclbin());
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  XrtCard& card = *opened.value();
  const int vocab = card.info().model.vocab_size;
  const float sentinel = -12345.0f;

  // A prefill chunk of slot 0 (one logits row, for its last token) mixed with decode entries.
  Step mixed;
  for (int p = 0; p < 5; p++) mixed.entries.push_back({10 + p, p, 0, p == 4 ? 0 : -1});
  mixed.entries.push_back({3, 9, 1, 1});
  mixed.entries.push_back({4, 2, 2, 2});
  mixed.n_out_rows = 3;
  std::vector<float> logits(card.info().max_step * vocab, sentinel);
  ASSERT_TRUE(card.Run(mixed, logits.data()).ok());
  for (int i = 0; i < 3 * vocab; i++) ASSERT_NE(logits[i], sentinel) << "row " << i / vocab << " not read back";
  for (size_t i = 3 * vocab; i < logits.size(); i++) ASSERT_EQ(logits[i], sentinel) << "wrote past the rows asked for";

  // A step that wants no logits reads nothing back.
  Step silent;
  silent.entries.push_back({5, 10, 1, -1});
  std::vector<float> untouched(vocab, sentinel);
  ASSERT_TRUE(card.Run(silent, untouched.data()).ok());
  EXPECT_EQ(untouched[0], sentinel);

  // Many steps in a row, the full batch.
  for (int pos = 0; pos < 20; pos++) {
    ASSERT_TRUE(card.Run(Decode(4, pos), logits.data()).ok()) << "step " << pos;
  }
  EXPECT_TRUE(card.Healthy());
}

TEST_F(XrtCardTest, RefusesAMalformedStepAndStaysHealthy) {
  Result<std::unique_ptr<XrtCard> > card = OpenWith(TinyXclbin());
  ASSERT_TRUE(card.ok()) << card.status().ToString();
  std::vector<float> logits(16 * 1024);
  Step too_big = Decode(4, 0);
  too_big.entries.resize(TinyLimits().max_step + 1, {1, 1, 3, -1});
  EXPECT_EQ(card.value()->Run(too_big, logits.data()).code(), StatusCode::kInvalidArgument);
  Step bad_slot = Decode(1, 0);
  bad_slot.entries[0].slot = 4;
  EXPECT_EQ(card.value()->Run(bad_slot, logits.data()).code(), StatusCode::kInvalidArgument);
  Step bad_pos = Decode(1, 64);
  EXPECT_EQ(card.value()->Run(bad_pos, logits.data()).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(card.value()->Healthy());
  EXPECT_TRUE(card.value()->Run(Decode(1, 0), logits.data()).ok());
}

// The noop shim completes every run at once, so these two inject the wait's outcome (the real run still
// completes underneath); see the note below on why a real timeout cannot be provoked under noop.
TEST_F(XrtCardTest, ATimeoutIsDeadlineExceededAndRetiresTheCard) {
  XrtCardOptions o = Options(Write(MakeMetadataXclbin(TinyXclbin())));
  int asked_ms = 0;
  o.timeout_ms = 250;
  o.wait_for_test = [&](int ms) {
    asked_ms = ms;
    return XrtWait::kTimedOut;
  };
  Result<std::unique_ptr<XrtCard> > card = XrtCard::Open(TinyImage(), o);
  ASSERT_TRUE(card.ok()) << card.status().ToString();
  std::vector<float> logits(16 * 1024);
  const Status st = card.value()->Run(Decode(2, 0), logits.data());
  EXPECT_EQ(st.code(), StatusCode::kDeadlineExceeded) << st.ToString();
  EXPECT_NE(st.message().find("250 ms"), std::string::npos) << st.message();
  EXPECT_EQ(asked_ms, 250);
  EXPECT_FALSE(card.value()->Healthy());
  EXPECT_EQ(card.value()->Run(Decode(1, 1), logits.data()).code(), StatusCode::kUnavailable);
}

TEST_F(XrtCardTest, ARunThatEndsInErrorIsADeviceFailure) {
  XrtCardOptions o = Options(Write(MakeMetadataXclbin(TinyXclbin())));
  o.wait_for_test = [](int) { return XrtWait::kFailed; };
  Result<std::unique_ptr<XrtCard> > card = XrtCard::Open(TinyImage(), o);
  ASSERT_TRUE(card.ok()) << card.status().ToString();
  std::vector<float> logits(16 * 1024);
  EXPECT_EQ(card.value()->Run(Decode(1, 0), logits.data()).code(), StatusCode::kDeviceFailure);
  EXPECT_FALSE(card.value()->Healthy());
}

// No test provokes a real xrt::run::wait timeout: XRT 2.13's noop shim can delay completions (xrt.ini
// [Runtime] noop_completion_delay_us), but its exec_wait then blocks until the delayed completion, so
// wait(100 ms) returns "completed" after the delay (tried: 1.5 s delay, 100 ms timeout). The timeout
// path is the injected wait above; on a card, the xocl driver's exec_wait honours the timeout.

TEST_F(XrtCardTest, RefusesAnXclbinWithoutTheKernel) {
  MetadataXclbinOptions o = TinyXclbin();
  o.kernel_name = "vadd";
  Result<std::unique_ptr<XrtCard> > card = OpenWith(o, "vadd.xclbin");
  ASSERT_FALSE(card.ok());
  EXPECT_EQ(card.status().code(), StatusCode::kNotFound) << card.status().ToString();
  EXPECT_NE(card.status().message().find("no kernel fpgaserve_step"), std::string::npos) << card.status().message();
  EXPECT_NE(card.status().message().find("vadd"), std::string::npos) << card.status().message();
}

TEST_F(XrtCardTest, RefusesAKernelWithOtherArguments) {
  MetadataXclbinOptions o = TinyXclbin();
  o.drop_last_args = 1;  // no kv_base: a kernel of another version
  Result<std::unique_ptr<XrtCard> > card = OpenWith(o, "old.xclbin");
  ASSERT_FALSE(card.ok());
  EXPECT_EQ(card.status().code(), StatusCode::kInvalidArgument) << card.status().ToString();
  EXPECT_NE(card.status().message().find(std::to_string(kStepArgCount - 1) + " arguments"), std::string::npos)
      << card.status().message();
}

TEST_F(XrtCardTest, RefusesACorruptedOrMissingFileNamingIt) {
  std::vector<uint8_t> bytes = MakeMetadataXclbin(TinyXclbin());
  std::vector<uint8_t> truncated(bytes.begin(), bytes.begin() + bytes.size() / 2);
  Result<std::unique_ptr<XrtCard> > card = XrtCard::Open(TinyImage(), Options(Write(truncated, "half.xclbin")));
  ASSERT_FALSE(card.ok());
  EXPECT_EQ(card.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(card.status().message().find("half.xclbin"), std::string::npos) << card.status().message();

  std::vector<uint8_t> garbage = bytes;
  garbage.at(0) = 'X';
  card = XrtCard::Open(TinyImage(), Options(Write(garbage, "garbage.xclbin")));
  ASSERT_FALSE(card.ok());
  EXPECT_EQ(card.status().code(), StatusCode::kInvalidArgument);

  card = XrtCard::Open(TinyImage(), Options(dir_.file("absent.xclbin")));
  ASSERT_FALSE(card.ok());
  EXPECT_EQ(card.status().code(), StatusCode::kNotFound);
  EXPECT_NE(card.status().message().find("absent.xclbin"), std::string::npos);
}

TEST_F(XrtCardTest, RefusesAnXclbinWithoutBuildMetadata) {
  MetadataXclbinOptions o = TinyXclbin();
  o.with_build_info = false;
  Result<std::unique_ptr<XrtCard> > card = OpenWith(o, "plain.xclbin");
  ASSERT_FALSE(card.ok());
  EXPECT_EQ(card.status().code(), StatusCode::kNotFound) << card.status().ToString();
  EXPECT_NE(card.status().message().find("build metadata"), std::string::npos);
}

TEST_F(XrtCardTest, RefusesAModelLargerThanTheXclbinsMaxima) {
  MetadataXclbinOptions o = TinyXclbin();
  o.build.limits.max_dim = 32;  // tiny has dim 64
  Result<std::unique_ptr<XrtCard> > card = OpenWith(o, "small.xclbin");
  ASSERT_FALSE(card.ok());
  EXPECT_EQ(card.status().code(), StatusCode::kOutOfRange) << card.status().ToString();
  EXPECT_NE(card.status().message().find("dim is 64"), std::string::npos) << card.status().message();
  EXPECT_NE(card.status().message().find("small.xclbin"), std::string::npos) << card.status().message();

  // The cache: 64 tokens per slot asked, 32 built for.
  MetadataXclbinOptions short_cache = TinyXclbin();
  short_cache.build.limits.max_seq_len = 32;
  card = OpenWith(short_cache, "short.xclbin");
  ASSERT_FALSE(card.ok());
  EXPECT_EQ(card.status().code(), StatusCode::kOutOfRange);
  EXPECT_NE(card.status().message().find("context length"), std::string::npos) << card.status().message();
}

TEST_F(XrtCardTest, RefusesAnotherKernelContract) {
  // A build for another memory system (e.g. an HBM card's 32 ports on a DDR build of the host) takes
  // another argument list and splits the image and cache differently.
  MetadataXclbinOptions o = TinyXclbin();
  o.build.mem_ports = 2 * kernel::kMemPorts;
  Result<std::unique_ptr<XrtCard> > card = OpenWith(o, "hbm.xclbin");
  ASSERT_FALSE(card.ok());
  EXPECT_EQ(card.status().code(), StatusCode::kInvalidArgument) << card.status().ToString();
  EXPECT_NE(card.status().message().find(std::to_string(2 * kernel::kMemPorts) + " memory ports"), std::string::npos)
      << card.status().message();

  // A kernel of the fp32 cache would read and write twice the bytes of the buffers we allocate.
  o = TinyXclbin();
  o.build.kv_value_bytes = 4;
  card = OpenWith(o, "fp32cache.xclbin");
  ASSERT_FALSE(card.ok());
  EXPECT_NE(card.status().message().find("4-byte KV values"), std::string::npos) << card.status().message();

  o = TinyXclbin();
  o.build.image_version = 2;
  card = OpenWith(o, "banks.xclbin");
  ASSERT_FALSE(card.ok());
  EXPECT_NE(card.status().message().find("weights image version 2"), std::string::npos) << card.status().message();
}

TEST_F(XrtCardTest, LoadsAnAwsXclbinThroughTheSamePath) {
  // An .awsxclbin: BITSTREAM holds the AFI id. On F1, XRT's AWS shim loads that AFI in load_xclbin; the
  // noop shim programs nothing, so this pins down that our checks accept the AWS container.
  MetadataXclbinOptions o = TinyXclbin();
  o.afi_id = "agfi-0123456789abcdef0";
  Result<std::unique_ptr<XrtCard> > card = OpenWith(o, "fpgaserve.awsxclbin");
  ASSERT_TRUE(card.ok()) << card.status().ToString();
  std::vector<float> logits(16 * 1024);
  EXPECT_TRUE(card.value()->Run(Decode(1, 0), logits.data()).ok());
}

TEST_F(XrtCardTest, OpenDevicesBuildsXrtCardsFromTheDeviceSpec) {
  DevicePoolOptions o;
  o.n_slots = 2;
  o.cache_len = 32;
  o.xclbin = Write(MakeMetadataXclbin(TinyXclbin()));
  Result<std::vector<std::unique_ptr<Device> > > cards = OpenDevices("xrt:0", TinyImage(), o);
  ASSERT_TRUE(cards.ok()) << cards.status().ToString();
  ASSERT_EQ(cards.value().size(), 1u);
  EXPECT_EQ(cards.value()[0]->info().n_slots, 2);
  EXPECT_EQ(cards.value()[0]->info().cache_len, 32);

  o.xclbin = "";
  Result<std::vector<std::unique_ptr<Device> > > none = OpenDevices("xrt:0", TinyImage(), o);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("--xclbin"), std::string::npos) << none.status().message();
}

// The xclbins of the Alveo cards, with this host's port count: each port's buffer lands in the bank or
// pseudo-channel the card's link config names (kernel/platforms/<card>.cfg, mirrored by
// fpga/platform_memory.h), found through group_id and the xclbin's MEM_TOPOLOGY.
TEST_F(XrtCardTest, PlacesPortsInTheDdrBanksOfADdrCard) {
  MetadataXclbinOptions o = TinyXclbin();
  o.card = "u250";
  Result<std::unique_ptr<XrtCard> > card = OpenWith(o, "u250.xclbin");
  ASSERT_TRUE(card.ok()) << card.status().ToString();
  for (int p = 0; p < kernel::kMemPorts; p++) {
    EXPECT_EQ(card.value()->arg_memories()[kArgPort0 + p], "DDR[" + std::to_string(p) + "]");
  }
  EXPECT_EQ(card.value()->arg_memories()[kArgIn], "DDR[0]");
  EXPECT_EQ(card.value()->arg_memories()[kArgLogits], "DDR[0]");
  EXPECT_EQ(card.value()->arg_memories()[kArgNEntries], "");
  std::vector<float> logits(16 * 1024);
  EXPECT_TRUE(card.value()->Run(Decode(2, 0), logits.data()).ok());
}

TEST_F(XrtCardTest, PlacesPortsInTheHbmPseudoChannelsOfAnHbmCard) {
  for (const std::string name : {"u55c", "u280"}) {
    SCOPED_TRACE(name);
    MetadataXclbinOptions o = TinyXclbin();
    o.card = name;
    o.build.card = name;
    o.build.platform = FindPlatformMemories(name)->vitis_platform;
    o.achieved_mhz = 280;
    Result<std::unique_ptr<XrtCard> > card = OpenWith(o, name + ".xclbin");
    ASSERT_TRUE(card.ok()) << card.status().ToString();
    const PlatformMemories& mem = *FindPlatformMemories(name);
    for (int p = 0; p < kernel::kMemPorts; p++) {
      const std::string channel = "HBM[" + std::to_string(p) + "]";
      EXPECT_EQ(card.value()->arg_memories()[kArgPort0 + p], channel);
      EXPECT_EQ(card.value()->arg_banks()[kArgPort0 + p], MemoryIndex(mem, channel));
    }
    // The U280's step buffers sit in its DDR bank (index 32, after the 32 channels), the U55C's in HBM[0].
    EXPECT_EQ(card.value()->arg_memories()[kArgIn], mem.io_memory);
    EXPECT_EQ(card.value()->arg_banks()[kArgLogits], MemoryIndex(mem, mem.io_memory));
    EXPECT_EQ(card.value()->kernel_mhz(), 280) << "the clock the link achieved, from CLOCK_FREQ_TOPOLOGY";
    std::vector<float> logits(16 * 1024);
    EXPECT_TRUE(card.value()->Run(Decode(3, 0), logits.data()).ok());
  }
}

TEST_F(XrtCardTest, RefusesAnImageSplitForAnotherPortCountSayingHowToBuild) {
  // An HBM card's 32-port build on this host (4 ports), or a 4-port build on a 32-port host.
  MetadataXclbinOptions o = TinyXclbin();
  o.card = "u55c";
  o.build.card = "u55c";
  o.build.mem_ports = kernel::kMemPorts == 32 ? 4 : 32;
  Result<std::unique_ptr<XrtCard> > card = OpenWith(o, "u55c-32.xclbin");
  ASSERT_FALSE(card.ok());
  EXPECT_EQ(card.status().code(), StatusCode::kInvalidArgument) << card.status().ToString();
  const std::string& m = card.status().message();
  EXPECT_NE(m.find("u55c-32.xclbin"), std::string::npos) << m;
  EXPECT_NE(m.find("u55c"), std::string::npos) << m;
  EXPECT_NE(m.find("-DFPGASERVE_MEM_PORTS=" + std::to_string(o.build.mem_ports)), std::string::npos) << m;
}

// The card's sensors go through XRT's device information (electrical and thermal reports). The noop
// shim has no management firmware behind it: the card must say "unavailable", not a number.
TEST_F(XrtCardTest, ReportsPowerAndTemperatureUnavailableUnderTheNoopShim) {
  Result<std::unique_ptr<XrtCard> > card = OpenWith(TinyXclbin());
  ASSERT_TRUE(card.ok()) << card.status().ToString();
  DeviceSensor* sensor = card.value()->sensor();
  ASSERT_NE(sensor, nullptr);
  const SensorReading r = sensor->Read();
  EXPECT_FALSE(r.watts.has_value()) << *r.watts;
  EXPECT_FALSE(r.celsius.has_value()) << *r.celsius;
  EXPECT_FALSE(r.energy_joules.has_value());
  EXPECT_FALSE(r.note.empty()) << "why it is unavailable";
  std::vector<float> logits(16 * 1024);
  EXPECT_TRUE(card.value()->Run(Decode(1, 0), logits.data()).ok()) << "reading the sensors leaves the card usable";
}

#endif  // FPGASERVE_HAVE_XRT

}  // namespace
}  // namespace fpgaserve
