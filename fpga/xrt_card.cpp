#include "fpga/xrt_card.h"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstring>
#include <exception>

#include <experimental/xrt_system.h>
#include <experimental/xrt_xclbin.h>
#include <xrt/xrt_bo.h>
#include <xrt/xrt_device.h>
#include <xrt/xrt_kernel.h>

#include "fpga/sensor_report.h"
#include "fpga/step_input.h"
#include "kernel/card/card.h"
#include "kernel/kernel.h"

namespace fpgaserve {

struct XrtCard::Impl {
  xrt::device device;
  xrt::kernel kernel;
  std::vector<xrt::bo> bos;  // per argument; empty bo for scalars
  xrt::run run;
  uint8_t* in = nullptr;            // host mapping of bos[kArgIn]
  const uint8_t* logits = nullptr;  // host mapping of bos[kArgLogits]
};

// Reads the card's reports through its xrt::device. XRT answers get_info from the driver's sysfs and the
// card's management firmware; a query XRT cannot answer throws, which becomes "unavailable".
class XrtCard::Sensor final : public DeviceSensor {
 public:
  explicit Sensor(xrt::device device) : device_(std::move(device)) {}
  SensorReading Read() override {
    SensorReading r;
    try {
      const XrtReportValue w = ParseXrtElectrical(device_.get_info<xrt::info::device::electrical>());
      r.watts = w.value;
      r.note = w.note;
    } catch (const std::exception& e) {
      r.note = std::string("no electrical report: ") + e.what();
    }
    try {
      const XrtReportValue c = ParseXrtThermal(device_.get_info<xrt::info::device::thermal>());
      r.celsius = c.value;
      if (!c.note.empty()) r.note += (r.note.empty() ? "" : "; ") + c.note;
    } catch (const std::exception& e) {
      r.note += (r.note.empty() ? "" : "; ") + std::string("no thermal report: ") + e.what();
    }
    return r;
  }

 private:
  xrt::device device_;
};

namespace {

// Whole 4 KiB pages: XRT backs a buffer with aligned_alloc(4096, size), which C requires (and
// AddressSanitizer checks) to be a multiple of the alignment.
uint64_t Pages(uint64_t bytes) { return (bytes + 4095) / 4096 * 4096; }

bool AllDigits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string StateName(ert_cmd_state s) {
  switch (s) {
    case ERT_CMD_STATE_NEW: return "new";
    case ERT_CMD_STATE_QUEUED: return "queued";
    case ERT_CMD_STATE_RUNNING: return "running";
    case ERT_CMD_STATE_COMPLETED: return "completed";
    case ERT_CMD_STATE_ERROR: return "error";
    case ERT_CMD_STATE_ABORT: return "aborted";
    case ERT_CMD_STATE_SUBMITTED: return "submitted";
    case ERT_CMD_STATE_TIMEOUT: return "timed out";
    case ERT_CMD_STATE_NORESPONSE: return "no response";
    default: return "state " + std::to_string(static_cast<int>(s));
  }
}

// The card could not be opened: tell NotFound (nothing there) from Unavailable (there, but not usable).
Status OpenFailure(const std::string& label, const std::exception& e) {
  const std::string what = e.what();
  if (what.find("XILINX_XRT") != std::string::npos) {
    return Status::Unavailable("cannot open " + label + ": XRT is not set up (" + what +
                               "); source /opt/xilinx/xrt/setup.sh or set XILINX_XRT");
  }
  size_t cards = 0;
  try {
    cards = xrt::system::enumerate_devices();
  } catch (const std::exception&) {
  }
  if (cards == 0) {
    return Status::NotFound("cannot open " + label + ": XRT finds no card on this host (" + what +
                            "); is the xocl driver loaded (xbutil examine lists the cards; deploy/alveo/README.md)?");
  }
  return Status::Unavailable("cannot open " + label + " (" + std::to_string(cards) + " card(s) on this host): " + what);
}

// A global argument's memory: one the xclbin's memories (or groups of them) have, of a kind a buffer can
// live in, large enough. XRT would fail later with less to say (or, for a streaming memory, allocate
// nothing useful).
Status CheckMemory(const std::vector<XclbinMemory>& memories, int group, const std::string& arg, uint64_t bytes,
                   const std::string& what) {
  if (group < 0 || group >= static_cast<int>(memories.size())) {
    return Status::InvalidArgument(what + ": argument " + arg + " is connected to memory " + std::to_string(group) +
                                   " but its memory topology has " + std::to_string(memories.size()) + " memories");
  }
  const XclbinMemory& m = memories[group];
  const auto type = static_cast<XclbinMemoryType>(m.type);
  if (type != XclbinMemoryType::kDdr3 && type != XclbinMemoryType::kDdr4 && type != XclbinMemoryType::kDram &&
      type != XclbinMemoryType::kHbm && type != XclbinMemoryType::kHost) {
    return Status::InvalidArgument(what + ": argument " + arg + " is connected to " + m.tag + ", a " +
                                   XclbinMemoryTypeName(m.type) + " memory that holds no buffer");
  }
  if (m.bytes > 0 && bytes > m.bytes) {
    return Status::OutOfRange(what + ": argument " + arg + " needs " + std::to_string(bytes >> 20) + " MiB but " +
                              m.tag + " holds " + std::to_string(m.bytes >> 20) +
                              " MiB; fewer KV slots or a shorter cache would fit");
  }
  return Status::Ok();
}

}  // namespace

void CardLogitsToRows(const uint8_t* words, int vocab, int n_out, float* logits) {
  for (int r = 0; r < n_out; r++) {
    float* row = logits + static_cast<size_t>(r) * vocab;
    for (int tile = 0; tile < kernel::TileCount(vocab); tile++) {
      // A word's 16 fp32 lanes are little-endian, as this host's floats: a plain copy.
      const int64_t word = kernel::CardLogitsWord(tile, r, vocab, n_out);
      const int first = tile * kernel::kTileRows;
      const int count = std::min(kernel::kTileRows, vocab - first);
      std::memcpy(row + first, words + word * kernel::kWordBytes, static_cast<size_t>(count) * sizeof(float));
    }
  }
}

Result<std::unique_ptr<XrtCard>> XrtCard::Open(std::shared_ptr<const WeightsImage> image,
                                               const XrtCardOptions& options) {
  const std::string label = "XRT card " + (options.device.empty() ? std::string("?") : options.device);
  if (!image) return Status::InvalidArgument(label + ": no model to load");
  if (options.device.empty()) return Status::InvalidArgument("an XRT card needs an index or a BDF (xrt:0)");
  if (options.xclbin.empty()) {
    return Status::InvalidArgument(label +
                                   " needs an xclbin: pass --xclbin with the .xclbin or .awsxclbin "
                                   "built from kernel/ (see kernel/README.md)");
  }
  if (options.n_slots <= 0) return Status::InvalidArgument(label + ": a card needs at least one KV slot");
  if (options.timeout_ms <= 0) return Status::InvalidArgument(label + ": the step timeout must be positive");
  const ModelConfig& c = image->config();
  const int cache_len = options.cache_len > 0 ? options.cache_len : c.seq_len;

  // 1. The xclbin: ours, intact, and built for a model this size. All checked before touching the card.
  const std::string what = "the xclbin " + options.xclbin;
  Result<Xclbin> file = Xclbin::ReadFile(options.xclbin);
  if (!file.ok()) return file.status();
  Result<XclbinBuildInfo> build = ReadBuildInfo(file.value(), what);
  if (!build.ok()) return build.status();
  const XclbinBuildInfo& b = build.value();
  const int kv_value_bytes = sizeof(kernel::KvValue);
  if (b.mem_ports != kernel::kMemPorts && b.mem_ports > 0) {
    // The weights image and the KV cache are split over one buffer per port, and the kernel takes one
    // argument per port: an xclbin of another count cannot run this host's image.
    const std::string card = b.card.empty() ? b.platform : b.card + " (" + b.platform + ")";
    return Status::InvalidArgument(
        what + " was built for " + card + " with " + std::to_string(b.mem_ports) +
        " memory ports, but this fpgaserve splits the weights image over " + std::to_string(kernel::kMemPorts) +
        ": rebuild fpgaserve with cmake -DFPGASERVE_MEM_PORTS=" + std::to_string(b.mem_ports) +
        ", or use an xclbin built with MEM_PORTS=" + std::to_string(kernel::kMemPorts) +
        " (kernel/platforms/: the DDR cards aws-f1, u200 and u250 have 4 ports, the HBM cards u55c and u280 32)");
  }
  if (b.kernel != kStepKernelName || b.mem_ports != kernel::kMemPorts || b.entry_fields != kernel::kEntryFields ||
      b.image_version != kernel::kImageVersion || b.kv_value_bytes != kv_value_bytes) {
    return Status::InvalidArgument(
        what + " was built for another kernel contract (kernel \"" + b.kernel + "\", " + std::to_string(b.mem_ports) +
        " memory ports, " + std::to_string(b.entry_fields) + " entry fields, weights image version " +
        std::to_string(b.image_version) + ", " + std::to_string(b.kv_value_bytes) +
        "-byte KV values; this fpgaserve needs \"" + kStepKernelName + "\", " + std::to_string(kernel::kMemPorts) +
        ", " + std::to_string(kernel::kEntryFields) + ", " + std::to_string(kernel::kImageVersion) + ", " +
        std::to_string(kv_value_bytes) + "; the memory port count is FPGASERVE_MEM_PORTS of both builds)");
  }
  if (Status st = b.limits.Check(c, cache_len, what); !st.ok()) return st;
  // The memories the link config wired the ports to: kernel.group_id(i) indexes this list (GROUP_TOPOLOGY
  // when the link made groups of memories, where XRT takes group_id from; else MEM_TOPOLOGY).
  Result<std::vector<XclbinMemory>> memories = ReadMemoryGroups(file.value(), what);
  if (!memories.ok()) return memories.status();
  // The step input's layout is the same for every build (kernel.h: the RoPE table after kInputMaxEntries
  // entries), so the host's BuildStepInput serves any xclbin.
  const size_t input_entry_bytes = kernel::kInputEntryBytes;
  // Port buffers: the image part, then the KV cache from word kv_base; the kernel takes kv_base as an int.
  const int64_t kv_base = static_cast<int64_t>((image->port_bytes() + kernel::kWordBytes - 1) / kernel::kWordBytes);
  const int64_t kv_words = kernel::KvPortWords(c.n_layers, options.n_slots, c.n_kv_heads, cache_len, c.head_size());
  if (kv_base > INT_MAX) {
    return Status::OutOfRange(label + ": the weights image part of a memory port is " +
                              std::to_string(image->port_bytes() >> 20) +
                              " MiB, more than the kernel's int kv_base argument can address");
  }

  std::unique_ptr<XrtCard> card(new XrtCard());
  card->build_ = b;
  card->kernel_mhz_ = ReadDataClockMhz(file.value()).value_or(0);
  card->kv_base_ = kv_base;
  card->input_entry_bytes_ = input_entry_bytes;
  card->image_ = std::move(image);
  card->timeout_ms_ = options.timeout_ms;
  card->wait_for_test_ = options.wait_for_test;
  card->impl_ = std::make_unique<Impl>();
  Impl& x = *card->impl_;

  // 2. The device.
  std::string bdf;
  try {
    x.device = AllDigits(options.device) ? xrt::device(static_cast<unsigned int>(std::stoul(options.device)))
                                         : xrt::device(options.device);
  } catch (const std::exception& e) {
    return OpenFailure(label, e);
  }
  try {
    bdf = x.device.get_info<xrt::info::device::bdf>();
  } catch (const std::exception&) {
    bdf = "no PCIe address (emulation)";  // the noop and emulation shims answer no BDF query
  }
  card->info_.name = "xrt" + (AllDigits(options.device) ? options.device : std::string()) + " (" + bdf + ")";
  card->sensor_ = std::make_unique<Sensor>(x.device);
  const std::string card_name = card->info_.name;

  // 3. The kernel's signature, from the xclbin's own metadata as XRT reads it.
  xrt::xclbin xclbin;
  try {
    const std::vector<uint8_t>& bytes = file.value().bytes();
    xclbin = xrt::xclbin(std::vector<char>(bytes.begin(), bytes.end()));
  } catch (const std::exception& e) {
    return Status::InvalidArgument("XRT cannot read " + what + ": " + e.what());
  }
  try {
    xrt::xclbin::kernel k = xclbin.get_kernel(kStepKernelName);
    if (!k) {
      std::string names;
      for (const xrt::xclbin::kernel& other : xclbin.get_kernels())
        names += (names.empty() ? "" : ", ") + other.get_name();
      return Status::NotFound(what + " has no kernel " + kStepKernelName + " (it has: " +
                              (names.empty() ? "none" : names) + "); build it from kernel/ with kernel/Makefile");
    }
    const std::vector<xrt::xclbin::arg> args = k.get_args();
    if (args.size() != kStepArgCount) {
      return Status::InvalidArgument(what + ": kernel " + kStepKernelName + " has " + std::to_string(args.size()) +
                                     " arguments but kernel/card/card.h declares " + std::to_string(kStepArgCount) +
                                     " (" + std::to_string(kernel::kMemPorts) +
                                     " memory ports; an xclbin of another fpgaserve version or port count?)");
    }
    for (size_t i = 0; i < args.size(); i++) {
      const StepArgSpec& want = StepArgs()[i];
      if (args[i].get_name() != want.name || args[i].get_index() != i || args[i].get_size() != want.size) {
        return Status::InvalidArgument(what + ": argument " + std::to_string(i) + " of " + kStepKernelName + " is \"" +
                                       args[i].get_name() + "\" (" + std::to_string(args[i].get_size()) +
                                       " bytes) but kernel/card/card.h declares \"" + want.name + "\" (" +
                                       std::to_string(want.size) + " bytes)");
      }
    }
  } catch (const std::exception& e) {
    return Status::InvalidArgument("XRT cannot read the kernels of " + what + ": " + e.what());
  }

  // 4. Load it, open the compute unit, and place one buffer per global argument in its memory.
  xrt::uuid uuid;
  try {
    uuid = x.device.load_xclbin(xclbin);
  } catch (const std::exception& e) {
    return Status::DeviceFailure(card_name + ": loading " + what + " failed: " + e.what());
  }
  // Steps are capped at the host's kMaxStep too: BuildStepInput lays out at most that many entries.
  const int max_step = std::min(b.limits.max_step, kernel::kMaxStep);
  const uint64_t port_bytes = static_cast<uint64_t>(kv_base + kv_words) * kernel::kWordBytes;
  const uint64_t in_bytes = input_entry_bytes + static_cast<uint64_t>(b.limits.max_step) * kernel::kRopeBytes;
  const uint64_t logits_bytes = static_cast<uint64_t>(kernel::CardLogitsWords(c.vocab_size, max_step)) *
                                kernel::kWordBytes;
  try {
    x.kernel = xrt::kernel(x.device, uuid, kStepKernelName);
    x.bos.resize(kStepArgCount);
    card->arg_banks_.assign(kStepArgCount, -1);
    card->arg_memories_.assign(kStepArgCount, "");
    for (int i = 0; i < kStepArgCount; i++) {
      if (!StepArgs()[i].global) continue;
      const uint64_t bytes = Pages(i == kArgIn ? in_bytes : i == kArgLogits ? logits_bytes : port_bytes);
      const int group = x.kernel.group_id(i);
      if (Status st = CheckMemory(memories.value(), group, StepArgs()[i].name, bytes, what); !st.ok()) return st;
      card->arg_banks_[i] = group;
      card->arg_memories_[i] = memories.value()[group].tag;
      x.bos[i] = xrt::bo(x.device, bytes, xrt::bo::flags::normal, group);
      card->device_bytes_ += bytes;
    }
    // Once: each port's part of the image at word 0, and zeros after it. The kernel writes a KV position
    // before any entry reads it, but zeros make a fresh cache (and its head padding) defined on the card
    // as in the simulations, rather than whatever the DDR held.
    for (int p = 0; p < kernel::kMemPorts; p++) {
      xrt::bo& bo = x.bos[kArgPort0 + p];
      uint8_t* host = bo.map<uint8_t*>();
      std::memcpy(host, card->image_->port(p), card->image_->port_bytes());
      std::memset(host + card->image_->port_bytes(), 0, bo.size() - card->image_->port_bytes());
      bo.sync(XCL_BO_SYNC_BO_TO_DEVICE);
    }
    // The step buffers start as zeros too: Run() then sends only the words a step uses.
    x.in = x.bos[kArgIn].map<uint8_t*>();
    std::memset(x.in, 0, x.bos[kArgIn].size());
    x.bos[kArgIn].sync(XCL_BO_SYNC_BO_TO_DEVICE);
    uint8_t* logits = x.bos[kArgLogits].map<uint8_t*>();
    std::memset(logits, 0, x.bos[kArgLogits].size());
    x.logits = logits;
    x.run = xrt::run(x.kernel);
    for (int i = 0; i < kStepArgCount; i++) {
      if (StepArgs()[i].global) x.run.set_arg(i, x.bos[i]);
    }
  } catch (const std::exception& e) {
    return Status::DeviceFailure(card_name + ": preparing the kernel's buffers (" +
                                 std::to_string(card->device_bytes_ >> 20) + " MiB so far) failed: " + e.what());
  }

  DeviceInfo& info = card->info_;
  info.model = c;
  info.n_slots = options.n_slots;
  info.cache_len = cache_len;
  info.max_step = max_step;
  // Keys and values, each head padded to whole words (kernel.h): what a slot takes in the port buffers,
  // as the simulated card counts it.
  info.kv_bytes_per_slot = 2ull * c.n_layers * cache_len * c.n_kv_heads * kernel::KvHeadStride(c.head_size()) *
                           sizeof(kernel::KvValue);
  return card;
}

DeviceSensor* XrtCard::sensor() { return sensor_.get(); }

XrtCard::~XrtCard() {
  // Release in reverse order of creation; a card that failed may throw on the way out, which must not
  // escape a destructor.
  sensor_.reset();
  if (!impl_) return;
  try {
    impl_->run = xrt::run();
    impl_->bos.clear();
    impl_->kernel = xrt::kernel();
    impl_->device = xrt::device();
  } catch (const std::exception&) {
  }
}

Status XrtCard::Fail(Status status) {
  healthy_.store(false);
  return status;
}

Status XrtCard::Run(const Step& step, float* logits) {
  if (!healthy_.load()) return Status::Unavailable(info_.name + " failed earlier and is not used again");
  if (Status st = ValidateStep(step, info_); !st.ok()) return st;
  Impl& x = *impl_;
  const int n = static_cast<int>(step.entries.size());
  try {
    // The step input (kernel.h's layout). Only the words the kernel reads go over PCIe: all its entry
    // words (the unused ones stay zero or stale, and it ignores entries past n) and n RoPE rows.
    const std::vector<uint8_t> input = BuildStepInput(step, info_.model);
    const size_t entry_bytes = static_cast<size_t>(n) * kernel::kEntryFields * sizeof(int32_t);
    const size_t rope_bytes = static_cast<size_t>(n) * kernel::kRopeBytes;
    std::memcpy(x.in, input.data(), entry_bytes);
    std::memcpy(x.in + input_entry_bytes_, input.data() + kernel::kInputEntryBytes, rope_bytes);
    x.bos[kArgIn].sync(XCL_BO_SYNC_BO_TO_DEVICE, input_entry_bytes_ + rope_bytes, 0);
    x.run.set_arg(kArgNEntries, n);
    x.run.set_arg(kArgNSlots, info_.n_slots);
    x.run.set_arg(kArgCacheLen, info_.cache_len);
    x.run.set_arg(kArgKvBase, static_cast<int>(kv_base_));
    x.run.start();

    XrtWait waited;
    ert_cmd_state state = ERT_CMD_STATE_COMPLETED;
    if (wait_for_test_) {
      waited = wait_for_test_(timeout_ms_);
      if (waited == XrtWait::kFailed) state = ERT_CMD_STATE_ERROR;
      x.run.wait();  // the real run still has to finish before its buffers are touched again
    } else {
      state = x.run.wait(std::chrono::milliseconds(timeout_ms_));
      waited = state == ERT_CMD_STATE_COMPLETED ? XrtWait::kCompleted
               : (state == ERT_CMD_STATE_TIMEOUT || state == ERT_CMD_STATE_NEW || state == ERT_CMD_STATE_QUEUED ||
                  state == ERT_CMD_STATE_SUBMITTED || state == ERT_CMD_STATE_RUNNING)
                   ? XrtWait::kTimedOut
                   : XrtWait::kFailed;
    }
    if (waited == XrtWait::kTimedOut) {
      try {
        x.run.abort();  // best effort: XRT may not be able to stop a hung compute unit
      } catch (const std::exception&) {
      }
      return Fail(Status::DeadlineExceeded(info_.name + ": a step of " + std::to_string(n) +
                                           " entries did not finish in " + std::to_string(timeout_ms_) +
                                           " ms; the card is taken out of service"));
    }
    if (waited == XrtWait::kFailed) {
      return Fail(Status::DeviceFailure(info_.name + ": a step of " + std::to_string(n) + " entries ended in state \"" +
                                        StateName(state) + "\"; the card is taken out of service"));
    }

    // Only the rows asked for come back over PCIe: the card packs the n_out rows' words first
    // (CardLogitsWords(vocab, n_out) of them, kernel/card/card.h), tile-major in the order the ports
    // deliver tiles; put them in row order, dropping the last tile's rows past the vocabulary.
    const int n_out = step.n_out_rows;
    if (n_out > 0) {
      const int vocab = info_.model.vocab_size;
      const size_t bytes = static_cast<size_t>(kernel::CardLogitsWords(vocab, n_out)) * kernel::kWordBytes;
      x.bos[kArgLogits].sync(XCL_BO_SYNC_BO_FROM_DEVICE, bytes, 0);
      CardLogitsToRows(x.logits, vocab, n_out, logits);
    }
  } catch (const std::exception& e) {
    return Fail(Status::DeviceFailure(info_.name + ": XRT failed during a step: " + std::string(e.what())));
  }
  return Status::Ok();
}

}  // namespace fpgaserve
