// MappedFile: a model file mapped read-only and private, as both model readers (checkpoint.h, gguf.h) take
// their files: the weights are never written, and the page cache shares them between processes that open
// the same file. The mapping lives as long as the object.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "base/status.h"

namespace fpgaserve {

class MappedFile {
 public:
  // Maps `path`. NotFound "model file <path> does not exist"; InvalidArgument when it cannot be opened or
  // mapped (with the system's reason), is not a regular file, or is empty.
  static Result<std::unique_ptr<MappedFile>> Open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return static_cast<const uint8_t*>(map_); }
  uint64_t size() const { return size_; }

 private:
  MappedFile() = default;
  void* map_ = nullptr;
  uint64_t size_ = 0;
};

}  // namespace fpgaserve
