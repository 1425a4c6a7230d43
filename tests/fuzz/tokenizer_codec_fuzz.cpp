// Encode and decode: Encode, EncodeWithSpecials and Decode on the SentencePiece test vocabulary (byte
// tokens and a " " piece) and the byte-level BPE test vocabulary, the input as text (byte 0 chooses the
// vocabulary and BOS). Checks the round trip tokenizer.h promises: Decode(Encode(s)) == s.
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "test_vocabularies.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fpgaserve;
  std::string_view in = fuzz::AsText(data, size);
  const uint8_t mode = fuzz::TakeByte(in);
  const Tokenizer& tokenizer = (mode & 1) != 0 ? fuzz::ByteLevelTestTokenizer() : fuzz::SentencePieceTestTokenizer();
  const bool bos = (mode & 2) != 0;

  const std::vector<int> ids = tokenizer.Encode(in, bos, false);
  for (int id : ids) FUZZ_CHECK(id >= 0 && id < tokenizer.vocab_size());
  FUZZ_CHECK(tokenizer.Decode(ids) == in);

  const std::vector<int> with_specials = tokenizer.EncodeWithSpecials(in, bos, true);
  for (int id : with_specials) FUZZ_CHECK(id >= 0 && id < tokenizer.vocab_size());
  (void)tokenizer.Decode(with_specials);

  // The input read as ids (4 bytes each), in range or not: Decode must take any sequence.
  std::vector<int> raw;
  for (size_t i = 0; i + 4 <= in.size(); i += 4) {
    int32_t v;
    std::memcpy(&v, in.data() + i, 4);
    raw.push_back(v);
  }
  (void)tokenizer.Decode(raw);
  return 0;
}
