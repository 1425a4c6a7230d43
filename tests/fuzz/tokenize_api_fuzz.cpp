// Bodies of POST /tokenize and /detokenize: TokenizeBody and DetokenizeBody on the SentencePiece and the
// byte-level test vocabularies. Input: byte 0 chooses the call (bit 0) and the vocabulary (bit 1); the rest
// is the body.
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "server/api/tokenize_api.h"
#include "test_vocabularies.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fpgaserve;
  std::string_view in = fuzz::AsText(data, size);
  const uint8_t mode = fuzz::TakeByte(in);
  const Tokenizer& tokenizer = (mode & 2) != 0 ? fuzz::ByteLevelTestTokenizer() : fuzz::SentencePieceTestTokenizer();
  const std::string body(in);
  std::string param;
  if ((mode & 1) != 0) {
    // The text is valid UTF-8 whatever the ids (tokenize_api.h): dump() throws, and the run stops, if not.
    Result<nlohmann::json> r = DetokenizeBody(body, tokenizer, &param);
    if (r.ok()) (void)r.value().dump();
  } else {
    Result<nlohmann::json> r = TokenizeBody(body, tokenizer, 256, &param);
    if (r.ok()) (void)r.value().dump();
  }
  return 0;
}
