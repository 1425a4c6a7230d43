#include "server/model/gguf.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <sstream>

#include "server/model/mapped_file.h"

namespace fpgaserve {

static_assert(std::endian::native == std::endian::little, "gguf.cpp reads little-endian files in place");

namespace {

constexpr char kMagic[4] = {'G', 'G', 'U', 'F'};

// Sequential, bounds-checked reads from the mapping. A read that would pass the end fails and leaves
// the cursor where it was, so the error can say where the file ran out.
class Cursor {
 public:
  Cursor(const uint8_t* base, uint64_t size) : base_(base), size_(size) {}

  uint64_t offset() const { return offset_; }
  uint64_t left() const { return size_ - offset_; }

  bool Bytes(uint64_t n, const uint8_t** out) {
    if (n > left()) return false;
    *out = base_ + offset_;
    offset_ += n;
    return true;
  }
  template <typename T>
  bool Scalar(T* out) {
    const uint8_t* p = nullptr;
    if (!Bytes(sizeof(T), &p)) return false;
    std::memcpy(out, p, sizeof(T));  // unaligned in general
    return true;
  }

 private:
  const uint8_t* base_;
  uint64_t size_;
  uint64_t offset_ = 0;
};

std::string Str(uint64_t v) { return std::to_string(v); }

// The smallest number of bytes one value of `type` takes (to bound counts by the bytes left); 0 for
// unknown types.
uint64_t MinValueBytes(GgufValueType type) {
  switch (type) {
    case GgufValueType::kUint8:
    case GgufValueType::kInt8:
    case GgufValueType::kBool: return 1;
    case GgufValueType::kUint16:
    case GgufValueType::kInt16: return 2;
    case GgufValueType::kUint32:
    case GgufValueType::kInt32:
    case GgufValueType::kFloat32: return 4;
    case GgufValueType::kUint64:
    case GgufValueType::kInt64:
    case GgufValueType::kFloat64:
    case GgufValueType::kString: return 8;  // the length
    case GgufValueType::kArray: return 12;  // element type and count
  }
  return 0;
}

// Parses the header, metadata and tensor table. Each method returns false after setting error_.
class Parser {
 public:
  Parser(const uint8_t* base, uint64_t size) : cur_(base, size) {}

  const std::string& error() const { return error_; }

  bool Fail(std::string message) {
    error_ = std::move(message);
    return false;
  }
  bool Truncated(const std::string& what) {
    return Fail("is truncated: it ends at byte " + Str(cur_.offset() + cur_.left()) + " inside " + what + " (at byte " +
                Str(cur_.offset()) + ")");
  }

  bool Header(uint32_t* version, uint64_t* tensor_count, uint64_t* kv_count) {
    const uint8_t* magic = nullptr;
    if (!cur_.Bytes(4, &magic)) return Truncated("the magic");
    if (std::memcmp(magic, kMagic, 4) != 0) return Fail("does not start with the GGUF magic \"GGUF\"");
    if (!cur_.Scalar(version)) return Truncated("the version");
    if (*version != 2 && *version != 3) {
      return Fail("has GGUF version " + Str(*version) +
                  "; fpgaserve reads versions 2 and 3 (little-endian; version 1 is obsolete, and a "
                  "big-endian file shows a byte-swapped version)");
    }
    if (!cur_.Scalar(tensor_count)) return Truncated("the tensor count");
    if (!cur_.Scalar(kv_count)) return Truncated("the metadata count");
    // A key-value pair takes at least 13 bytes (key length, type, a one-byte value); a tensor info 24.
    if (*kv_count > cur_.left() / 13 || *kv_count > GgufFile::kMaxMetadata) {
      return Fail("claims " + Str(*kv_count) + " metadata entries, more than its " + Str(cur_.left()) +
                  " remaining bytes could hold or the limit of " + Str(GgufFile::kMaxMetadata) +
                  " (truncated, or a corrupt count)");
    }
    if (*tensor_count > cur_.left() / 24 || *tensor_count > GgufFile::kMaxTensors) {
      return Fail("claims " + Str(*tensor_count) + " tensors, more than its " + Str(cur_.left()) +
                  " remaining bytes could hold or the limit of " + Str(GgufFile::kMaxTensors) +
                  " (truncated, or a corrupt count)");
    }
    return true;
  }

  bool String(std::string* out, uint64_t max_bytes, const std::string& what) {
    const uint64_t at = cur_.offset();
    uint64_t length = 0;
    if (!cur_.Scalar(&length)) return Truncated("the length of " + what);
    if (length > max_bytes) {
      return Fail("has " + what + " of " + Str(length) + " bytes at byte " + Str(at) + " (the limit is " +
                  Str(max_bytes) + ")");
    }
    const uint8_t* p = nullptr;
    if (!cur_.Bytes(length, &p)) {
      return Fail("has " + what + " of length " + Str(length) + " at byte " + Str(at) + ", more than the " +
                  Str(cur_.left()) + " bytes left in the file (truncated, or a corrupt length)");
    }
    out->assign(reinterpret_cast<const char*>(p), static_cast<size_t>(length));
    return true;
  }

  bool Value(GgufValueType type, int depth, const std::string& what, GgufValue* v) {
    v->type = type;
    switch (type) {
      case GgufValueType::kUint8: return Unsigned<uint8_t>(what, v);
      case GgufValueType::kUint16: return Unsigned<uint16_t>(what, v);
      case GgufValueType::kUint32: return Unsigned<uint32_t>(what, v);
      case GgufValueType::kUint64: return Unsigned<uint64_t>(what, v);
      case GgufValueType::kInt8: return Signed<int8_t>(what, v);
      case GgufValueType::kInt16: return Signed<int16_t>(what, v);
      case GgufValueType::kInt32: return Signed<int32_t>(what, v);
      case GgufValueType::kInt64: return Signed<int64_t>(what, v);
      case GgufValueType::kFloat32: {
        float f = 0;
        if (!cur_.Scalar(&f)) return Truncated(what);
        v->f = f;
        return true;
      }
      case GgufValueType::kFloat64: return cur_.Scalar(&v->f) || Truncated(what);
      case GgufValueType::kBool: {
        uint8_t b = 0;
        if (!cur_.Scalar(&b)) return Truncated(what);
        if (b > 1) return Fail("has bool " + what + " with byte " + Str(b) + " (0 or 1 expected)");
        v->b = b == 1;
        return true;
      }
      case GgufValueType::kString: return String(&v->str, UINT64_MAX, "string " + what);
      case GgufValueType::kArray: return Array(depth, what, v);
    }
    return Fail("has " + what + " of unknown type " + Str(static_cast<uint32_t>(type)));
  }

  bool Array(int depth, const std::string& what, GgufValue* v) {
    if (depth >= GgufFile::kMaxArrayDepth) {
      return Fail("has arrays nested more than " + Str(GgufFile::kMaxArrayDepth) + " deep in " + what);
    }
    const uint64_t at = cur_.offset();
    uint32_t element = 0;
    uint64_t count = 0;
    if (!cur_.Scalar(&element)) return Truncated("the element type of array " + what);
    if (!cur_.Scalar(&count)) return Truncated("the length of array " + what);
    v->element_type = static_cast<GgufValueType>(element);
    const uint64_t min_bytes = MinValueBytes(v->element_type);
    if (min_bytes == 0) return Fail("has array " + what + " of unknown element type " + Str(element));
    if (count > cur_.left() / min_bytes || count > GgufFile::kMaxArrayElements) {
      return Fail("has array " + what + " at byte " + Str(at) + " claiming " + Str(count) + " " +
                  GgufValueTypeName(v->element_type) + " elements, more than the " + Str(cur_.left()) +
                  " bytes left in the file could hold or the limit of " + Str(GgufFile::kMaxArrayElements) +
                  " (truncated, or a corrupt count)");
    }
    // Grown as elements are read, so a count that the file does not back costs no memory up front.
    v->array.reserve(static_cast<size_t>(std::min<uint64_t>(count, 4096)));
    for (uint64_t i = 0; i < count; i++) {
      if (!Value(v->element_type, depth + 1, what + "[" + Str(i) + "]", &v->array.emplace_back())) return false;
    }
    return true;
  }

  bool Metadata(uint64_t count, std::vector<std::pair<std::string, GgufValue>>* out) {
    for (uint64_t k = 0; k < count; k++) {
      auto& [key, value] = out->emplace_back();
      if (!String(&key, GgufFile::kMaxKeyBytes, "the key of metadata entry " + Str(k))) return false;
      uint32_t type = 0;
      if (!cur_.Scalar(&type)) return Truncated("the type of metadata " + key);
      if (MinValueBytes(static_cast<GgufValueType>(type)) == 0) {
        return Fail("has metadata " + key + " of unknown type " + Str(type));
      }
      if (!Value(static_cast<GgufValueType>(type), 0, key, &value)) return false;
    }
    return true;
  }

  bool TensorInfo(uint64_t index, GgufTensorInfo* t) {
    const std::string what = "tensor info " + Str(index);
    if (!String(&t->name, GgufFile::kMaxNameBytes, "the name of " + what)) return false;
    const std::string named = "tensor " + t->name;
    uint32_t n_dims = 0;
    if (!cur_.Scalar(&n_dims)) return Truncated("the dimension count of " + named);
    if (n_dims == 0 || n_dims > GgufFile::kMaxDims) {
      return Fail("has " + named + " with " + Str(n_dims) + " dimensions (1 to " + Str(GgufFile::kMaxDims) +
                  " expected)");
    }
    t->dims.resize(n_dims);
    t->elements = 1;
    for (uint32_t d = 0; d < n_dims; d++) {
      if (!cur_.Scalar(&t->dims[d])) return Truncated("the dimensions of " + named);
      // ggml counts elements in int64; 2^62 leaves room for the byte size of any type.
      if (t->dims[d] == 0 || __builtin_mul_overflow(t->elements, t->dims[d], &t->elements) ||
          t->elements > (uint64_t{1} << 62)) {
        return Fail("has " + named + " with dimension " + Str(d) + " = " + Str(t->dims[d]) +
                    " (zero, or more than 2^62 elements in all)");
      }
    }
    uint32_t type = 0;
    if (!cur_.Scalar(&type)) return Truncated("the type of " + named);
    const GgmlLayout layout = GgmlTypeLayout(type);
    if (layout.block_elements == 0) return Fail("has " + named + " of unknown tensor type " + Str(type));
    t->type = static_cast<GgmlType>(type);
    if (t->dims[0] % layout.block_elements != 0) {
      return Fail("has " + named + " whose rows of " + Str(t->dims[0]) + " values are not a whole number of " +
                  GgmlTypeName(t->type) + " blocks of " + Str(layout.block_elements));
    }
    if (__builtin_mul_overflow(t->elements / layout.block_elements, uint64_t{layout.block_bytes}, &t->bytes)) {
      return Fail("has " + named + " whose size in bytes overflows 64 bits");
    }
    if (!cur_.Scalar(&t->offset)) return Truncated("the offset of " + named);
    return true;
  }

  uint64_t offset() const { return cur_.offset(); }

 private:
  template <typename T>
  bool Unsigned(const std::string& what, GgufValue* v) {
    T x{};
    if (!cur_.Scalar(&x)) return Truncated(what);
    v->u = x;
    return true;
  }
  template <typename T>
  bool Signed(const std::string& what, GgufValue* v) {
    T x{};
    if (!cur_.Scalar(&x)) return Truncated(what);
    v->i = static_cast<int64_t>(x);  // NOLINT(bugprone-signed-char-misuse): int8 is a number, sign-extended
    return true;
  }

  Cursor cur_;
  std::string error_;
};

}  // namespace

const char* GgufValueTypeName(GgufValueType type) {
  switch (type) {
    case GgufValueType::kUint8: return "uint8";
    case GgufValueType::kInt8: return "int8";
    case GgufValueType::kUint16: return "uint16";
    case GgufValueType::kInt16: return "int16";
    case GgufValueType::kUint32: return "uint32";
    case GgufValueType::kInt32: return "int32";
    case GgufValueType::kFloat32: return "float32";
    case GgufValueType::kBool: return "bool";
    case GgufValueType::kString: return "string";
    case GgufValueType::kArray: return "array";
    case GgufValueType::kUint64: return "uint64";
    case GgufValueType::kInt64: return "int64";
    case GgufValueType::kFloat64: return "float64";
  }
  return "unknown";
}

bool GgufValue::is_integer() const {
  switch (type) {
    case GgufValueType::kUint8:
    case GgufValueType::kUint16:
    case GgufValueType::kUint32:
    case GgufValueType::kUint64:
    case GgufValueType::kInt8:
    case GgufValueType::kInt16:
    case GgufValueType::kInt32:
    case GgufValueType::kInt64: return true;
    default: return false;
  }
}

bool GgufValue::ToInt(int64_t min, int64_t max, int64_t* out) const {
  if (!is_integer()) return false;
  const bool is_unsigned = type == GgufValueType::kUint8 || type == GgufValueType::kUint16 ||
                           type == GgufValueType::kUint32 || type == GgufValueType::kUint64;
  if (is_unsigned) {
    if (max < 0 || u > static_cast<uint64_t>(max) || (min > 0 && u < static_cast<uint64_t>(min))) return false;
    *out = static_cast<int64_t>(u);
    return true;
  }
  if (i < min || i > max) return false;
  *out = i;
  return true;
}

bool GgufValue::ToFloat(double* out) const {
  if (type != GgufValueType::kFloat32 && type != GgufValueType::kFloat64) return false;
  *out = f;
  return true;
}

std::string GgufValue::Summary() const {
  std::ostringstream s;
  switch (type) {
    case GgufValueType::kUint8:
    case GgufValueType::kUint16:
    case GgufValueType::kUint32:
    case GgufValueType::kUint64: s << u; break;
    case GgufValueType::kInt8:
    case GgufValueType::kInt16:
    case GgufValueType::kInt32:
    case GgufValueType::kInt64: s << i; break;
    case GgufValueType::kFloat32:
    case GgufValueType::kFloat64: s << f; break;
    case GgufValueType::kBool: s << (b ? "true" : "false"); break;
    case GgufValueType::kString: {
      // Chat templates run to kilobytes over many lines: show the start, on one line.
      const bool cut = str.size() > 60;
      s << '"';
      for (char ch : std::string_view(str).substr(0, cut ? 57 : str.size())) {
        if (ch == '\n') {
          s << "\\n";
        } else if (static_cast<unsigned char>(ch) < 0x20) {
          s << '?';
        } else {
          s << ch;
        }
      }
      s << (cut ? "...\" (" + std::to_string(str.size()) + " bytes)" : std::string("\""));
      break;
    }
    case GgufValueType::kArray: s << "[" << GgufValueTypeName(element_type) << " x " << array.size() << "]"; break;
  }
  return s.str();
}

bool GgufFile::HasMagic(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char magic[4] = {};
  const ssize_t got = ::read(fd, magic, sizeof magic);
  ::close(fd);
  return got == 4 && std::memcmp(magic, kMagic, 4) == 0;
}

Result<std::unique_ptr<GgufFile>> GgufFile::Open(const std::string& path) {
  const std::string what = "model file " + path;
  Result<std::unique_ptr<MappedFile>> mapped = MappedFile::Open(path);
  if (!mapped.ok()) return mapped.status();
  std::unique_ptr<GgufFile> file(new GgufFile());
  file->path_ = path;
  file->file_ = std::move(mapped.value());
  file->file_bytes_ = file->file_->size();
  if (Status s = file->Parse(); !s.ok()) return Status::InvalidArgument(what + " (GGUF) " + s.message());
  return file;
}

GgufFile::~GgufFile() = default;

Status GgufFile::Parse() {
  const uint8_t* base = file_->data();
  Parser p(base, file_bytes_);
  uint64_t tensor_count = 0;
  uint64_t kv_count = 0;
  if (!p.Header(&version_, &tensor_count, &kv_count)) return Status::InvalidArgument(p.error());
  if (!p.Metadata(kv_count, &metadata_)) return Status::InvalidArgument(p.error());
  for (size_t k = 0; k < metadata_.size(); k++) {
    if (!metadata_index_.emplace(metadata_[k].first, k).second) {
      return Status::InvalidArgument("has metadata key " + metadata_[k].first + " twice");
    }
  }
  if (const GgufValue* a = Find("general.alignment")) {
    if (a->type != GgufValueType::kUint32 || a->u == 0 || (a->u & (a->u - 1)) != 0) {
      return Status::InvalidArgument("has general.alignment " + a->Summary() + " of type " +
                                     GgufValueTypeName(a->type) + " (a power-of-two uint32 expected)");
    }
    alignment_ = a->u;
  }

  for (uint64_t t = 0; t < tensor_count; t++) {
    if (!p.TensorInfo(t, &tensors_.emplace_back())) return Status::InvalidArgument(p.error());
  }
  for (size_t t = 0; t < tensors_.size(); t++) {
    if (!tensor_index_.emplace(tensors_[t].name, t).second) {
      return Status::InvalidArgument("has two tensors called " + tensors_[t].name);
    }
  }
  // The data starts at the next multiple of the alignment (alignment <= 2^31, so no overflow here).
  data_offset_ = (p.offset() + alignment_ - 1) / alignment_ * alignment_;
  if (data_offset_ > file_bytes_) {
    return Status::InvalidArgument("is truncated: its tensor data would start at byte " + Str(data_offset_) +
                                   ", past its end at byte " + Str(file_bytes_));
  }
  const uint64_t data_bytes = file_bytes_ - data_offset_;
  for (GgufTensorInfo& t : tensors_) {
    if (t.offset % alignment_ != 0) {
      return Status::InvalidArgument("has tensor " + t.name + " at data offset " + Str(t.offset) +
                                     ", not a multiple of the alignment " + Str(alignment_) +
                                     " (misaligned tensor data)");
    }
    if (t.offset > data_bytes || t.bytes > data_bytes - t.offset) {
      return Status::InvalidArgument("has tensor " + t.name + " (" + Str(t.bytes) + " bytes at data offset " +
                                     Str(t.offset) +
                                     ") reaching past the end of the file: the tensor data "
                                     "holds " +
                                     Str(data_bytes) + " bytes (truncated, or a bad offset)");
    }
    t.data = base + data_offset_ + t.offset;
  }
  // No two tensors may share bytes: a writer that did that is broken, and its weights are not what the
  // names say.
  std::vector<const GgufTensorInfo*> by_offset;
  for (const GgufTensorInfo& t : tensors_) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const GgufTensorInfo* a, const GgufTensorInfo* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < by_offset.size(); i++) {
    const GgufTensorInfo& a = *by_offset[i - 1];
    const GgufTensorInfo& b = *by_offset[i];
    if (a.offset + a.bytes > b.offset) {  // both inside the file: no overflow
      return Status::InvalidArgument("has overlapping tensors: " + a.name + " (bytes " + Str(a.offset) + " to " +
                                     Str(a.offset + a.bytes) + " of the data) and " + b.name + " (from byte " +
                                     Str(b.offset) + ")");
    }
  }
  return Status::Ok();
}

const GgufValue* GgufFile::Find(std::string_view key) const {
  const auto it = metadata_index_.find(key);
  return it == metadata_index_.end() ? nullptr : &metadata_[it->second].second;
}

const GgufTensorInfo* GgufFile::FindTensor(std::string_view name) const {
  const auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

}  // namespace fpgaserve
