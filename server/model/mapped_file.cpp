#include "server/model/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace fpgaserve {

Result<std::unique_ptr<MappedFile>> MappedFile::Open(const std::string& path) {
  const std::string what = "model file " + path;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) return Status::NotFound(what + " does not exist");
    return Status::InvalidArgument("cannot open " + what + ": " + std::strerror(err));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::InvalidArgument(what + " is not a regular file");
  }
  if (st.st_size == 0) {
    ::close(fd);
    return Status::InvalidArgument(what + " is empty");
  }
  void* map = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
  const int map_err = errno;
  ::close(fd);  // the mapping keeps the file
  if (map == MAP_FAILED) return Status::InvalidArgument("cannot map " + what + ": " + std::strerror(map_err));
  std::unique_ptr<MappedFile> file(new MappedFile());
  file->map_ = map;
  file->size_ = static_cast<uint64_t>(st.st_size);
  return file;
}

MappedFile::~MappedFile() {
  if (map_ != nullptr) ::munmap(map_, static_cast<size_t>(size_));
}

}  // namespace fpgaserve
