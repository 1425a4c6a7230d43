// GGUF files: GgufFile::Open on the input as a file (header, metadata, tensor infos), every value's
// Summary, then TokenizerFromGguf with the vocabulary size the file's token list gives (so a well-formed
// vocabulary gets past the size check), and an encode and decode with what it builds.
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "server/model/gguf.h"
#include "server/model/gguf_tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fpgaserve;
  const fuzz::MemFile file(fuzz::AsText(data, size));
  Result<std::unique_ptr<GgufFile>> g = GgufFile::Open(file.path());
  if (!g.ok()) return 0;
  const GgufFile& gguf = *g.value();
  for (const auto& [key, value] : gguf.metadata()) (void)value.Summary();
  for (const GgufTensorInfo& t : gguf.tensors()) {
    if (t.bytes > 0) {
      volatile uint8_t last = t.data[t.bytes - 1];  // Open promises the bytes lie inside the file
      (void)last;
    }
  }
  const GgufValue* tokens = gguf.Find("tokenizer.ggml.tokens");
  const int vocab_size = tokens != nullptr ? static_cast<int>(tokens->array.size()) : 32;
  Result<Tokenizer> t = TokenizerFromGguf(gguf, vocab_size);
  if (!t.ok()) return 0;
  const std::vector<int> ids = t.value().EncodeWithSpecials("Hello, world! 123 \xe2\x96\x81 <s>", true, true);
  for (int id : ids) FUZZ_CHECK(id >= 0 && id < t.value().vocab_size());
  (void)t.value().Decode(ids);
  return 0;
}
