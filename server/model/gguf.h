// GgufFile: a GGUF file (llama.cpp's model format, versions 2 and 3), memory-mapped read-only and
// checked: its metadata parsed into values, its tensor table into TensorInfos that point into the mapping.
// What the tensors mean (a Llama model) is gguf_model.h's business; this file knows only the container.
//
// Layout (little-endian; "string" is a uint64 byte length then that many bytes, no terminator):
//   "GGUF" (the bytes 47 47 55 46), uint32 version, uint64 tensor_count, uint64 metadata_kv_count;
//   metadata_kv_count times: string key, uint32 value type, value
//     (types 0..12: u8 i8 u16 i16 u32 i32 f32 bool string array u64 i64 f64; an array is uint32 element
//     type, uint64 count, the elements; arrays may nest);
//   tensor_count times: string name, uint32 n_dims, uint64 dims[n_dims] (dims[0] varies fastest: a
//     row-major (rows, cols) matrix has dims {cols, rows}), uint32 ggml type, uint64 offset;
//   zero padding to a multiple of the alignment (metadata `general.alignment`, uint32, default 32);
//   tensor data: each tensor at data_offset + its offset, which is a multiple of the alignment.
// Version 3 differs from 2 only in allowing big-endian files, which carry no marker; we read
// little-endian ones (a big-endian file shows up as an absurd version number). Version 1 (32-bit counts)
// is refused.
//
// Every read is bounds-checked against the file size and every size computed with checked 64-bit
// arithmetic, so a malformed file is refused with a message, never a crash or a read past the end. A file
// is refused (InvalidArgument, the message starts with "model file <path>" and names the defect and its
// byte offset) when: it is shorter than its header says (truncated); the magic is not "GGUF"; the version
// is not 2 or 3; a metadata or array element type or a tensor type is unknown; a string or an array is
// longer, or a count larger, than the bytes left in the file could hold; a count exceeds kMaxTensors,
// kMaxMetadata or kMaxArrayElements; arrays nest deeper than kMaxArrayDepth; a metadata key repeats or is
// longer than 65535 bytes; a bool is not 0 or 1; general.alignment is not a power-of-two uint32; a tensor
// has 0 or more than 4 dimensions, a zero dimension, more than 2^62 elements, a first dimension that is
// not a multiple of its type's block, a name longer than 64 bytes or used twice, an offset that is not a
// multiple of the alignment, data that overlaps another tensor's or reaches past the end of the file.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "server/model/gguf_types.h"

namespace fpgaserve {

class MappedFile;  // mapped_file.h

enum class GgufValueType : uint32_t {
  kUint8 = 0,
  kInt8 = 1,
  kUint16 = 2,
  kInt16 = 3,
  kUint32 = 4,
  kInt32 = 5,
  kFloat32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kUint64 = 10,
  kInt64 = 11,
  kFloat64 = 12,
};

// "uint32", "string", "array"...; "unknown" outside the enum.
const char* GgufValueTypeName(GgufValueType type);

// One metadata value. Integers keep their sign in the member that fits (unsigned in `u`, signed in `i`),
// floats are widened to double (exactly), arrays hold their elements (all of `element_type`).
struct GgufValue {
  GgufValueType type = GgufValueType::kUint8;
  uint64_t u = 0;
  int64_t i = 0;
  double f = 0;
  bool b = false;
  std::string str;
  GgufValueType element_type = GgufValueType::kUint8;  // arrays
  std::vector<GgufValue> array;

  bool is_integer() const;
  // The value as an int in [min, max], when it is an integer of any width in that range.
  bool ToInt(int64_t min, int64_t max, int64_t* out) const;
  // The value of a float32/float64.
  bool ToFloat(double* out) const;
  // A short rendering for `model info`: numbers, quoted strings, arrays as "[type x count]".
  std::string Summary() const;
};

struct GgufTensorInfo {
  std::string name;
  std::vector<uint64_t> dims;  // dims[0] varies fastest
  GgmlType type = GgmlType::kF32;
  uint64_t offset = 0;            // from the start of the tensor data, as stored
  uint64_t elements = 0;          // product of dims
  uint64_t bytes = 0;             // of data, from the type's block layout
  const uint8_t* data = nullptr;  // into the mapping; `bytes` of it lie inside the file
};

class GgufFile {
 public:
  static constexpr uint64_t kDefaultAlignment = 32;
  static constexpr int kMaxArrayDepth = 4;         // llama.cpp's files nest at most 2 deep
  static constexpr uint64_t kMaxKeyBytes = 65535;  // the spec's limit
  static constexpr uint64_t kMaxNameBytes = 64;    // the spec's limit on tensor names
  static constexpr uint32_t kMaxDims = 4;
  // Far above real files (Llama 3 405B: ~1100 tensors, ~40 metadata keys, a 128k-token vocabulary and
  // 280k merges), and low enough that a file claiming absurd counts costs bounded memory: parsed values
  // take ~100 bytes each.
  static constexpr uint64_t kMaxTensors = 1 << 16;
  static constexpr uint64_t kMaxMetadata = 1 << 16;
  static constexpr uint64_t kMaxArrayElements = 1 << 21;

  // True when the first four bytes of `path` are "GGUF" (false when it cannot be read).
  static bool HasMagic(const std::string& path);

  // Maps `path` and parses and checks the container (see the top of this file). NotFound when the file
  // does not exist; InvalidArgument for anything else, the message naming the file and the defect. On
  // success the GgufFile owns the mapping; tensor data is not read (nor its values checked) here.
  // The file must not be truncated or rewritten in place while it is open (as Checkpoint::Open).
  static Result<std::unique_ptr<GgufFile>> Open(const std::string& path);

  ~GgufFile();
  GgufFile(const GgufFile&) = delete;
  GgufFile& operator=(const GgufFile&) = delete;

  // The value of `key`, or nullptr.
  const GgufValue* Find(std::string_view key) const;
  // The tensor called `name`, or nullptr.
  const GgufTensorInfo* FindTensor(std::string_view name) const;

  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }  // where tensor data starts, from the file start
  uint64_t file_bytes() const { return file_bytes_; }
  const std::string& path() const { return path_; }
  // In file order.
  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return metadata_; }
  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }

  // Thread-safety: immutable after Open; every method may be called concurrently.

 private:
  GgufFile() = default;
  Status Parse();

  std::string path_;
  std::unique_ptr<MappedFile> file_;
  uint64_t file_bytes_ = 0;
  uint32_t version_ = 0;
  uint64_t alignment_ = kDefaultAlignment;
  uint64_t data_offset_ = 0;
  std::vector<std::pair<std::string, GgufValue>> metadata_;
  std::unordered_map<std::string_view, size_t> metadata_index_;  // keys point into metadata_
  std::vector<GgufTensorInfo> tensors_;
  std::unordered_map<std::string_view, size_t> tensor_index_;  // keys point into tensors_
};

}  // namespace fpgaserve
