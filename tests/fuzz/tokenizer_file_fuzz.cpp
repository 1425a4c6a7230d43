// Tokenizer files: the llama2.c tokenizer.bin (Tokenizer::Load) and Hugging Face's tokenizer.json with its
// tokenizer_config.json (ReadHfTokenizer); a vocabulary either accepts is then built and used to encode and
// decode. Input: byte 0 chooses the reader (bit 0); for tokenizer.bin the next two bytes are the model's
// vocab_size (1 + value % 1024) and the rest the file; for tokenizer.json the rest is the json, then after
// a NUL the config (none when there is no NUL).
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "server/model/byte_level_bpe.h"
#include "server/model/hf_tokenizer.h"
#include "server/model/pretokenizer.h"
#include "server/model/tokenizer.h"

namespace {

void Exercise(const fpgaserve::Tokenizer& t) {
  const std::string text = "Hello world, 12345 \xc3\xa9t\xc3\xa9 <|eot_id|> \xff";
  const std::vector<int> ids = t.EncodeWithSpecials(text, true, true);
  for (int id : ids) FUZZ_CHECK(id >= 0 && id < t.vocab_size());
  (void)t.Decode(ids);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fpgaserve;
  std::string_view in = fuzz::AsText(data, size);
  if ((fuzz::TakeByte(in) & 1) == 0) {
    const int vocab_size = 1 + ((fuzz::TakeByte(in) | (fuzz::TakeByte(in) << 8)) % 1024);
    const fuzz::MemFile file(in);
    Result<Tokenizer> t = Tokenizer::Load(file.path(), vocab_size);
    if (!t.ok()) return 0;
    FUZZ_CHECK(t.value().vocab_size() == vocab_size);
    Exercise(t.value());
    return 0;
  }
  const std::string_view json = fuzz::TakeUntilNul(in);
  const bool has_config = json.size() < in.size() + json.size();
  const fuzz::MemFile json_file(json);
  const fuzz::MemFile config_file(in);
  Result<GgufVocabulary> v = ReadHfTokenizer(json_file.path(), has_config ? config_file.path() : "");
  if (!v.ok()) return 0;
  // As `fpgaserve model random --tokenizer-json` then a GGUF load would build it (gguf_tokenizer.h).
  const GgufVocabulary& vocab = v.value();
  Result<std::shared_ptr<const Pretokenizer>> pre = Pretokenizer::Create(vocab.pre);
  FUZZ_CHECK(pre.ok());  // ReadHfTokenizer names only the pre-tokenizers it knows
  std::vector<TokenType> types;
  for (int32_t type : vocab.token_types) types.push_back(static_cast<TokenType>(type));
  Result<std::shared_ptr<const ByteLevelBpe>> bpe = ByteLevelBpe::Create(vocab.tokens, types, vocab.merges, pre.value(),
                                                                         "fuzz");
  if (!bpe.ok()) return 0;
  ByteLevelBpeIds ids{vocab.bos, vocab.eos, vocab.eot, vocab.eom, vocab.unk, vocab.pad, vocab.add_bos, vocab.add_eos};
  Result<Tokenizer> t = Tokenizer::FromByteLevelBpe(bpe.value(), ids, "fuzz");
  if (t.ok()) Exercise(t.value());
  return 0;
}
