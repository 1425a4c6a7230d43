// Points XRT at its noop shim for this process, so the XRT card's call sequence runs without a card.
//
// XRT loads its shim from $XILINX_XRT/lib; with XCL_EMULATION_MODE=noop it loads libxrt_noop.so, which
// opens "device 0" (enumerate_devices() still says 0), loads xclbins, allocates and syncs buffers in host
// memory and completes every run without computing anything. We make a folder whose lib/ is the folder
// XRT's own library was loaded from (Debian: /usr/lib/x86_64-linux-gnu), found with dladdr, so the
// same code works with /opt/xilinx/xrt. Must run before the first XRT call of the process.
// tools/xrt-noop-env.sh does the same for a shell.
#pragma once

#ifdef FPGASERVE_HAVE_XRT

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include <experimental/xrt_system.h>

namespace fpgaserve::testing {

// Returns "" on success, or why the noop environment could not be made. Idempotent.
inline std::string UseXrtNoop() {
  static const std::string error = [] {
    Dl_info info{};
    if (dladdr(reinterpret_cast<void*>(&xrt::system::enumerate_devices), &info) == 0 || info.dli_fname == nullptr) {
      return std::string("cannot locate libxrt_coreutil with dladdr");
    }
    const std::filesystem::path lib = std::filesystem::canonical(info.dli_fname).parent_path();
    if (!std::filesystem::exists(lib / "libxrt_noop.so.2") && !std::filesystem::exists(lib / "libxrt_noop.so")) {
      return "XRT's noop shim (libxrt_noop.so) is not in " + lib.string();
    }
    const char* tmp = std::getenv("TMPDIR");
    std::string root = std::string(tmp && *tmp ? tmp : "/tmp") + "/fpgaserve-xrt-noop-" + std::to_string(getpid());
    std::error_code ec;
    std::filesystem::create_directories(root, ec);
    std::filesystem::remove(root + "/lib", ec);
    std::filesystem::create_directory_symlink(lib, root + "/lib", ec);
    if (ec) return "cannot link " + root + "/lib -> " + lib.string() + ": " + ec.message();
    setenv("XILINX_XRT", root.c_str(), 1);
    setenv("XCL_EMULATION_MODE", "noop", 1);
    return std::string();
  }();
  return error;
}

}  // namespace fpgaserve::testing

#endif  // FPGASERVE_HAVE_XRT
