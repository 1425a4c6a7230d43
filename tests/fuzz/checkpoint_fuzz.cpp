// llama2.c checkpoints (v0 fp32, v1 fp32 with a header, v2 Q8_0): Checkpoint::Open on the input as a file,
// then Describe, and a read of the last value of every matrix (and its last scale) through the view Open
// checked: under ASan a view that reaches past the mapping is a finding.
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "server/model/checkpoint.h"
#include "support/test_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fpgaserve;
  const fuzz::MemFile file(fuzz::AsText(data, size));
  Result<std::unique_ptr<Checkpoint>> c = Checkpoint::Open(file.path());
  if (!c.ok()) return 0;
  (void)c.value()->Describe();
  FUZZ_CHECK(c.value()->file_bytes() == size);
  const size_t group = static_cast<size_t>(c.value()->config().group_size);
  volatile float sum = 0;
  for (const MatrixView* m : testing::Matrices(c.value()->view())) {
    const size_t n = testing::Numel(*m);
    if (n == 0) continue;
    if (m->quantized()) {
      sum = sum + static_cast<float>(m->q[n - 1]) + m->s[(n - 1) / group];
    } else {
      sum = sum + m->f32[n - 1];
    }
  }
  return 0;
}
