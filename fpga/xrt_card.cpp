#include "fpga/xrt_card.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <exception>

#include <experimental/xrt_system.h>
#include <experimental/xrt_xclbin.h>
#include <xrt/xrt_bo.h>
#include <xrt/xrt_device.h>
#include <xrt/xrt_kernel.h>

#include "kernel/kernel.h"

namespace fpgaserve {

struct XrtCard::Impl {
  xrt::device device;
  xrt::kernel kernel;
  std::vector<xrt::bo> bos;  // per argument; empty bo for scalars
  xrt::run run;
  int32_t* entries = nullptr;  // host mapping of bos[kArgEntries]
};

namespace {

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
                            "); is the xocl driver loaded and is this an F1 instance?");
  }
  return Status::Unavailable("cannot open " + label + " (" + std::to_string(cards) + " card(s) on this host): " + what);
}

}  // namespace

Result<std::unique_ptr<XrtCard>> XrtCard::Open(std::shared_ptr<const WeightsImage> image,
                                               const XrtCardOptions& options) {
  const std::string label = "XRT card " + (options.device.empty() ? std::string("?") : options.device);
  if (!image) return Status::InvalidArgument(label + ": no model to load");
  if (options.device.empty()) return Status::InvalidArgument("an XRT card needs an index or a BDF (xrt:0)");
  if (options.xclbin.empty()) {
    return Status::InvalidArgument(label + " needs an xclbin: pass --xclbin with the .xclbin or .awsxclbin "
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
  if (b.kernel != kStepKernelName || b.banks != kernel::kBanks || b.entry_fields != kernel::kEntryFields ||
      b.image_version != kernel::kImageVersion || b.kv_value_bytes != kv_value_bytes) {
    return Status::InvalidArgument(
        what + " was built for another kernel contract (kernel \"" + b.kernel + "\", " + std::to_string(b.banks) +
        " banks, " + std::to_string(b.entry_fields) + " entry fields, weights image version " +
        std::to_string(b.image_version) + ", " + std::to_string(b.kv_value_bytes) +
        "-byte KV values; this fpgaserve needs \"" + kStepKernelName + "\", " + std::to_string(kernel::kBanks) + ", " +
        std::to_string(kernel::kEntryFields) + ", " + std::to_string(kernel::kImageVersion) + ", " +
        std::to_string(kv_value_bytes) + ")");
  }
  if (Status st = b.limits.Check(c, cache_len, what); !st.ok()) return st;

  std::unique_ptr<XrtCard> card(new XrtCard());
  card->build_ = b;
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
      for (const xrt::xclbin::kernel& other : xclbin.get_kernels()) names += (names.empty() ? "" : ", ") + other.get_name();
      return Status::NotFound(what + " has no kernel " + kStepKernelName + " (it has: " +
                              (names.empty() ? "none" : names) + "); build it from kernel/ with kernel/Makefile");
    }
    const std::vector<xrt::xclbin::arg> args = k.get_args();
    if (args.size() != kStepArgCount) {
      return Status::InvalidArgument(what + ": kernel " + kStepKernelName + " has " + std::to_string(args.size()) +
                                     " arguments but kernel/kernel.h declares " + std::to_string(kStepArgCount) +
                                     " (an xclbin of another fpgaserve version?)");
    }
    for (size_t i = 0; i < args.size(); i++) {
      const StepArgSpec& want = StepArgs()[i];
      if (args[i].get_name() != want.name || args[i].get_index() != i || args[i].get_size() != want.size) {
        return Status::InvalidArgument(what + ": argument " + std::to_string(i) + " of " + kStepKernelName + " is \"" +
                                       args[i].get_name() + "\" (" + std::to_string(args[i].get_size()) +
                                       " bytes) but kernel/kernel.h declares \"" + want.name + "\" (" +
                                       std::to_string(want.size) + " bytes)");
      }
    }
  } catch (const std::exception& e) {
    return Status::InvalidArgument("XRT cannot read the kernels of " + what + ": " + e.what());
  }

  // 4. Load it, open the compute unit, and place one buffer per global argument in its bank.
  xrt::uuid uuid;
  try {
    uuid = x.device.load_xclbin(xclbin);
  } catch (const std::exception& e) {
    return Status::DeviceFailure(card_name + ": loading " + what + " failed: " + e.what());
  }
  const uint64_t kv_bytes = static_cast<uint64_t>(c.n_layers) * options.n_slots * cache_len * c.kv_dim() * sizeof(kernel::KvValue);
  const uint64_t entries_bytes = static_cast<uint64_t>(b.limits.max_step) * kernel::kEntryFields * sizeof(int32_t);
  const uint64_t logits_bytes = static_cast<uint64_t>(b.limits.max_step) * c.vocab_size * sizeof(float);
  try {
    x.kernel = xrt::kernel(x.device, uuid, kStepKernelName);
    x.bos.resize(kStepArgCount);
    card->arg_banks_.assign(kStepArgCount, -1);
    for (int i = 0; i < kStepArgCount; i++) {
      if (!StepArgs()[i].global) continue;
      uint64_t bytes = 0;
      switch (i) {
        case kArgW0: case kArgW1: case kArgW2: case kArgW3: bytes = card->image_->bank_bytes(); break;
        case kArgKCache: case kArgVCache: bytes = kv_bytes; break;
        case kArgEntries: bytes = entries_bytes; break;
        case kArgLogits: bytes = logits_bytes; break;
        default: break;
      }
      // Whole 4 KiB pages: XRT backs a buffer with aligned_alloc(4096, size), which C requires (and
      // AddressSanitizer checks) to be a multiple of the alignment.
      bytes = (bytes + 4095) / 4096 * 4096;
      const int group = x.kernel.group_id(i);
      card->arg_banks_[i] = group;
      x.bos[i] = xrt::bo(x.device, bytes, xrt::bo::flags::normal, group);
      card->device_bytes_ += bytes;
    }
    // The weights, once: the four banks of the image into the four weight buffers.
    for (int bank = 0; bank < kernel::kBanks; bank++) {
      xrt::bo& bo = x.bos[kArgW0 + bank];
      bo.write(card->image_->bank(bank), card->image_->bank_bytes(), 0);
      bo.sync(XCL_BO_SYNC_BO_TO_DEVICE);
    }
    x.entries = x.bos[kArgEntries].map<int32_t*>();
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
  info.max_step = b.limits.max_step;
  info.kv_bytes_per_slot = 2ull * c.n_layers * cache_len * c.kv_dim() * sizeof(kernel::KvValue);
  return card;
}

XrtCard::~XrtCard() {
  // Release in reverse order of creation; a card that failed may throw on the way out, which must not
  // escape a destructor.
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
    // The step: n entries of (token, pos, slot, out_row), to the card.
    for (int i = 0; i < n; i++) {
      const StepEntry& e = step.entries[i];
      int32_t* row = x.entries + static_cast<size_t>(i) * kernel::kEntryFields;
      row[kernel::kEntryToken] = e.token;
      row[kernel::kEntryPos] = e.pos;
      row[kernel::kEntrySlot] = e.slot;
      row[kernel::kEntryOutRow] = e.out_row;
    }
    x.bos[kArgEntries].sync(XCL_BO_SYNC_BO_TO_DEVICE, static_cast<size_t>(n) * kernel::kEntryFields * sizeof(int32_t), 0);
    x.run.set_arg(kArgNEntries, n);
    x.run.set_arg(kArgNSlots, info_.n_slots);
    x.run.set_arg(kArgCacheLen, info_.cache_len);
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
      return Fail(Status::DeadlineExceeded(info_.name + ": a step of " + std::to_string(n) + " entries did not finish in " +
                                           std::to_string(timeout_ms_) + " ms; the card is taken out of service"));
    }
    if (waited == XrtWait::kFailed) {
      return Fail(Status::DeviceFailure(info_.name + ": a step of " + std::to_string(n) + " entries ended in state \"" +
                                        StateName(state) + "\"; the card is taken out of service"));
    }

    // Only the rows asked for come back over PCIe.
    if (step.n_out_rows > 0) {
      const size_t bytes = static_cast<size_t>(step.n_out_rows) * info_.model.vocab_size * sizeof(float);
      x.bos[kArgLogits].sync(XCL_BO_SYNC_BO_FROM_DEVICE, bytes, 0);
      x.bos[kArgLogits].read(logits, bytes, 0);
    }
  } catch (const std::exception& e) {
    return Fail(Status::DeviceFailure(info_.name + ": XRT failed during a step: " + std::string(e.what())));
  }
  return Status::Ok();
}

}  // namespace fpgaserve
