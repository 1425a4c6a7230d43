#include "base/atomic_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace fpgaserve {
namespace {

Status WriteError(const std::string& what, const std::string& path, const std::string& step, int err) {
  const std::string m = "cannot write " + what + " " + path + " (" + step + "): " + std::strerror(err);
  if (err == ENOENT) return Status::NotFound(m);
  if (err == ENOSPC || err == EDQUOT) return Status::ResourceExhausted(m);
  return Status::InvalidArgument(m);
}

}  // namespace

Status WriteFileAtomically(const std::string& path, const std::string& what,
                           const std::function<int(std::FILE*)>& write) {
  std::string tmp = path + ".tmp-XXXXXX";
  const int fd = ::mkstemp(tmp.data());  // a fresh name: two writers of one path never share a temporary
  if (fd < 0) return WriteError(what, path, "creating " + tmp, errno);
  ::fchmod(fd, 0644);  // mkstemp makes 0600; the files we write (models) are not secrets
  std::FILE* f = ::fdopen(fd, "wb");
  if (f == nullptr) {
    const int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return WriteError(what, path, "opening " + tmp, err);
  }
  int err = write(f);
  if (err == 0 && std::ferror(f)) err = errno != 0 ? errno : EIO;
  if (err == 0 && std::fflush(f) != 0) err = errno;
  if (err == 0 && ::fsync(fd) != 0) err = errno;  // the data is on disk before the name points at it
  if (std::fclose(f) != 0 && err == 0) err = errno;
  if (err == 0 && std::rename(tmp.c_str(), path.c_str()) != 0) err = errno;
  if (err != 0) {
    ::unlink(tmp.c_str());
    return WriteError(what, path, "writing", err);
  }
  return Status::Ok();
}

}  // namespace fpgaserve
