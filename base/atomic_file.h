// WriteFileAtomically: a file that readers see whole or not at all (the old one, or none, until the new
// one is complete on disk). The bytes go to a temporary file beside `path` (same folder, so the rename
// cannot cross file systems), are flushed and fsync'ed, and the temporary is renamed over `path`; on any
// failure it is removed and `path` is left as it was.
#pragma once

#include <cstdio>
#include <functional>
#include <string>

#include "base/status.h"

namespace fpgaserve {

// `write` writes the contents to the open stream and returns 0, or an errno value (it may also just
// write and let the stream's error flag speak). `what` names the file in messages ("model file", "GGUF
// file"): "cannot write <what> <path> (<step>): <strerror>". Codes: NotFound (a missing folder),
// ResourceExhausted (disk full, quota), InvalidArgument (anything else: permissions, a folder in the way).
// The file gets mode 0644.
Status WriteFileAtomically(const std::string& path, const std::string& what,
                           const std::function<int(std::FILE*)>& write);

}  // namespace fpgaserve
