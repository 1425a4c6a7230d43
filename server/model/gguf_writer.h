// GgufBuilder: writes GGUF files (version 2 or 3) byte by byte: a model as llama.cpp lays it out
// (ModelToGguf), and, for the malformed-file tests, any edit of it with the byte positions of its fields.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/status.h"
#include "fpga/model_view.h"
#include "server/model/gguf_types.h"
#include "server/model/tokenizer.h"

namespace fpgaserve {

class GgufBuilder {
 public:
  uint32_t version = 3;
  uint64_t alignment = 32;  // written as general.alignment when not 32 or when write_alignment
  bool write_alignment = false;

  // Metadata, in the order added.
  void Uint32(const std::string& key, uint32_t v);
  void Int32(const std::string& key, int32_t v);
  void Float32(const std::string& key, float v);
  void Bool(const std::string& key, bool v);
  void String(const std::string& key, const std::string& v);
  void StringArray(const std::string& key, const std::vector<std::string>& v);
  void Float32Array(const std::string& key, const std::vector<float>& v);
  void Int32Array(const std::string& key, const std::vector<int32_t>& v);
  // An array of arrays of strings.
  void NestedStringArray(const std::string& key, const std::vector<std::vector<std::string>>& v);
  // Removes every entry of `key`.
  void Erase(const std::string& key);

  // A tensor: dims as GGUF lists them ({cols, rows}), its encoded data. Offsets are assigned in order,
  // each aligned, unless a test sets `offset_override`.
  struct Tensor {
    std::string name;
    std::vector<uint64_t> dims;
    uint32_t type = 0;
    std::string data;
    bool override_offset = false;
    uint64_t offset_override = 0;
  };
  Tensor& AddTensor(const std::string& name, std::vector<uint64_t> dims, GgmlType type, std::string data);
  Tensor* FindTensor(const std::string& name);
  void EraseTensor(const std::string& name);
  std::vector<Tensor>& tensors() { return tensors_; }

  // The file. Afterwards the positions of some fields are known (byte offsets into the result).
  std::string Build();
  size_t tensor_count_pos = 8;
  size_t kv_count_pos = 16;
  std::map<std::string, size_t> key_pos;          // the key's length field
  std::map<std::string, size_t> value_pos;        // the value's type field
  std::map<std::string, size_t> tensor_info_pos;  // the name's length field
  std::map<std::string, size_t> tensor_dims_pos;  // the first dimension
  std::map<std::string, size_t> tensor_offset_pos;

 private:
  struct Kv {
    std::string key;
    std::string typed_value;  // uint32 type, then the value
  };
  std::vector<Kv> kvs_;
  std::vector<Tensor> tensors_;
};

// Encodes `n` floats (n a multiple of the block) as `type`: F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K or Q6_K
// (round to nearest; simple scale choices, not llama.cpp's optimised ones).
std::string EncodeTensor(GgmlType type, const float* values, size_t n);

// Q8_0 from int8 values and scales with group size 32 (scales must be fp16-representable to round-trip).
std::string EncodeQ8_0(const int8_t* q, const float* s, size_t n);

// A vocabulary as GGUF tokenizer.ggml.* metadata, written as it is (hf_tokenizer.h makes one from a Hugging
// Face tokenizer.json). Ids of -1 are not written.
struct GgufVocabulary {
  std::string model = "gpt2";  // tokenizer.ggml.model
  std::string pre;             // tokenizer.ggml.pre
  std::vector<std::string> tokens;
  std::vector<int32_t> token_types;  // 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte
  std::vector<std::string> merges;   // "left right", in rank order
  int bos = -1;
  int eos = -1;
  int eot = -1;
  int eom = -1;
  int unk = -1;
  int pad = -1;
  bool add_bos = false;
  bool add_eos = false;
  std::string chat_template;  // tokenizer.chat_template when non-empty
};

// Sets a SentencePiece ("llama") vocabulary's tokenizer.ggml.* keys, replacing any there: `tokens` (spaces
// spelled U+2581), their `scores` and llama.cpp token `types` (1 normal, 2 unknown, 3 control, 6 byte), BOS 1
// and EOS 2. REQUIRES: the three have one entry per token.
void SetSentencePieceVocabulary(GgufBuilder& b, const std::vector<std::string>& tokens,
                                const std::vector<float>& scores, const std::vector<int32_t>& types);

// Adds `v`'s tokenizer.ggml.* keys (and tokenizer.chat_template) to `b`.
void AddVocabulary(GgufBuilder& b, const GgufVocabulary& v);

struct GgufModelOptions {
  GgmlType matrix_type = GgmlType::kF32;  // used for fp32 matrices; Q8_0 matrices are written as Q8_0
  GgmlType norm_type = GgmlType::kF32;
  bool tokenizer = true;                            // tokenizer.ggml.* metadata with a made-up vocabulary, or
  const Tokenizer* vocabulary = nullptr;            // this one's pieces (' ' written as U+2581) and scores, or
  const GgufVocabulary* gguf_vocabulary = nullptr;  // this one as it is (takes precedence over `vocabulary`)
};

// A builder holding `model` as a llama GGUF: metadata from its config (RoPE base, RMSNorm epsilon; a
// per-frequency RoPE scaling as the rope_freqs.weight tensor with its factor and original context, as
// llama.cpp's converter writes Llama 3.1+), its tensors under llama.cpp's names (output.weight only when the
// classifier is not shared).
GgufBuilder ModelToGguf(const ModelView& model, const GgufModelOptions& options);

// Builds `b` and writes it to `path` atomically (a temporary beside it, flushed, renamed over it).
// Internal naming the path and the OS error when writing fails; the temporary is removed then.
Status WriteGgufFile(GgufBuilder& b, const std::string& path);

}  // namespace fpgaserve
