// What the fuzz harnesses share: the input as a file (the model and config readers take a path), input
// splitting, and a check that stops the run. Header-only; test code.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace fpgaserve::fuzz {

// Fails the run (libFuzzer records the input as a crash; the replay test fails) when `cond` is false.
// Not assert(): the harnesses must check in NDEBUG builds too.
#define FUZZ_CHECK(cond)                                                                 \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      std::fprintf(stderr, "%s:%d: fuzz check failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                      \
    }                                                                                    \
  } while (0)

// The bytes as an anonymous in-memory file, named /proc/self/fd/N: a regular file that can be opened,
// stat'ed and mapped as the readers do, with no directory to clean up and no disk write per input.
class MemFile {
 public:
  explicit MemFile(std::string_view bytes) : fd_(memfd_create("fuzz-input", MFD_CLOEXEC)) {
    FUZZ_CHECK(fd_ >= 0);
    size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = write(fd_, bytes.data() + done, bytes.size() - done);
      FUZZ_CHECK(n > 0);
      done += static_cast<size_t>(n);
    }
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  ~MemFile() { close(fd_); }
  MemFile(const MemFile&) = delete;
  MemFile& operator=(const MemFile&) = delete;

  const std::string& path() const { return path_; }

 private:
  int fd_;
  std::string path_;
};

// Takes the first byte of `in` (0 when empty) and drops it.
inline uint8_t TakeByte(std::string_view& in) {
  if (in.empty()) return 0;
  const auto b = static_cast<uint8_t>(in.front());
  in.remove_prefix(1);
  return b;
}

// The bytes before the first NUL (all of `in` when there is none); `in` keeps what follows the NUL.
inline std::string_view TakeUntilNul(std::string_view& in) {
  const size_t nul = in.find('\0');
  const std::string_view head = in.substr(0, nul);
  in.remove_prefix(nul == std::string_view::npos ? in.size() : nul + 1);
  return head;
}

inline std::string_view AsText(const uint8_t* data, size_t size) { return {reinterpret_cast<const char*>(data), size}; }

}  // namespace fpgaserve::fuzz
