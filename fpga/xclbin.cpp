#include "fpga/xclbin.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>

namespace fpgaserve {
namespace {

namespace L = xclbin_layout;

constexpr char kMagic[8] = {'x', 'c', 'l', 'b', 'i', 'n', '2', '\0'};
// The largest section count XRT accepts (XCLBIN_MAX_NUM_SECTION).
constexpr uint32_t kMaxSections = 0x10000;

template <typename T>
T Load(const std::vector<uint8_t>& b, size_t at) {
  T v;
  std::memcpy(&v, b.data() + at, sizeof v);
  return v;
}

template <typename T>
void Store(uint8_t* b, size_t at, T v) {
  std::memcpy(b + at, &v, sizeof v);
}

// A fixed-size char field up to its first NUL (or its whole size).
std::string FixedString(const std::vector<uint8_t>& b, size_t at, size_t size) {
  const char* p = reinterpret_cast<const char*>(b.data() + at);
  return std::string(p, strnlen(p, size));
}

size_t Align8(size_t n) { return (n + 7) / 8 * 8; }

}  // namespace

std::string XclbinSectionKindName(uint32_t kind) {
  switch (static_cast<XclbinSectionKind>(kind)) {
    case XclbinSectionKind::kBitstream: return "BITSTREAM";
    case XclbinSectionKind::kEmbeddedMetadata: return "EMBEDDED_METADATA";
    case XclbinSectionKind::kMemTopology: return "MEM_TOPOLOGY";
    case XclbinSectionKind::kConnectivity: return "CONNECTIVITY";
    case XclbinSectionKind::kIpLayout: return "IP_LAYOUT";
    case XclbinSectionKind::kClockFreqTopology: return "CLOCK_FREQ_TOPOLOGY";
    case XclbinSectionKind::kBuildMetadata: return "BUILD_METADATA";
    case XclbinSectionKind::kKeyValueMetadata: return "KEYVALUE_METADATA";
    case XclbinSectionKind::kUserMetadata: return "USER_METADATA";
    case XclbinSectionKind::kGroupTopology: return "GROUP_TOPOLOGY";
    case XclbinSectionKind::kGroupConnectivity: return "GROUP_CONNECTIVITY";
  }
  return "kind " + std::to_string(kind);
}

Result<Xclbin> Xclbin::Parse(std::vector<uint8_t> bytes, const std::string& what) {
  auto bad = [&](const std::string& why) { return Status::InvalidArgument(what + " is not a valid xclbin: " + why); };
  if (bytes.size() < L::kAxlfBytes) {
    return bad("it has " + std::to_string(bytes.size()) + " bytes, fewer than the " + std::to_string(L::kAxlfBytes) +
               " of an xclbin header");
  }
  if (std::memcmp(bytes.data() + L::kMagicOffset, kMagic, sizeof kMagic) != 0) {
    return bad("it does not start with \"xclbin2\" (an xclbin from an older tool, or another kind of file)");
  }
  const uint64_t length = Load<uint64_t>(bytes, L::kHeaderOffset + L::kHeaderLength);
  if (length != bytes.size()) {
    return bad("its header says " + std::to_string(length) + " bytes but the file has " + std::to_string(bytes.size()) +
               " (truncated or damaged)");
  }
  const uint32_t n = Load<uint32_t>(bytes, L::kHeaderOffset + L::kHeaderNumSections);
  if (n == 0 || n > kMaxSections ||
      L::kSectionHeadersOffset + static_cast<uint64_t>(n) * L::kSectionHeaderBytes > bytes.size()) {
    return bad("its section count " + std::to_string(n) + " does not fit the file");
  }
  Xclbin x;
  for (uint32_t i = 0; i < n; i++) {
    const size_t at = L::kSectionHeadersOffset + static_cast<size_t>(i) * L::kSectionHeaderBytes;
    XclbinSectionInfo s;
    s.kind = Load<uint32_t>(bytes, at + L::kSectionKind);
    s.name = FixedString(bytes, at + L::kSectionName, 16);
    s.offset = Load<uint64_t>(bytes, at + L::kSectionOffset);
    s.size = Load<uint64_t>(bytes, at + L::kSectionSize);
    if (s.offset > bytes.size() || s.size > bytes.size() - s.offset) {
      return bad("section " + std::to_string(i) + " (" + XclbinSectionKindName(s.kind) + ") lies outside the file");
    }
    x.sections_.push_back(std::move(s));
  }
  x.platform_vbnv_ = FixedString(bytes, L::kHeaderOffset + L::kHeaderPlatformVbnv, 64);
  std::memcpy(x.uuid_.data(), bytes.data() + L::kHeaderOffset + L::kHeaderUuid, 16);
  x.timestamp_ = Load<uint64_t>(bytes, L::kHeaderOffset + L::kHeaderTimeStamp);
  x.bytes_ = std::move(bytes);
  return x;
}

Result<Xclbin> Xclbin::ReadFile(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Status::NotFound("the xclbin " + path + " does not exist");
  if (!S_ISREG(st.st_mode)) return Status::InvalidArgument("the xclbin " + path + " is not a regular file");
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::InvalidArgument("the xclbin " + path + " cannot be read");
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return Status::InvalidArgument("reading the xclbin " + path + " failed");
  return Parse(std::move(bytes), "the xclbin " + path);
}

std::string Xclbin::uuid_string() const {
  char s[37];
  const uint8_t* u = uuid_.data();
  std::snprintf(s, sizeof s, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2],
                u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
  return s;
}

std::optional<std::string_view> Xclbin::Section(XclbinSectionKind kind) const {
  for (const XclbinSectionInfo& s : sections_) {
    if (s.kind == static_cast<uint32_t>(kind)) {
      return std::string_view(reinterpret_cast<const char*>(bytes_.data() + s.offset), s.size);
    }
  }
  return std::nullopt;
}

std::string Xclbin::AwsAfiId() const {
  std::optional<std::string_view> bits = Section(XclbinSectionKind::kBitstream);
  if (!bits || bits->substr(0, 5) != "agfi-") return "";
  std::string id;
  for (char c : *bits) {
    if (c == '\0' || c == '\n' || c == ' ') break;
    id += c;
  }
  return id;
}

void XclbinWriter::AddSection(XclbinSectionKind kind, std::string name, std::vector<uint8_t> data) {
  if (name.size() > 15) name.resize(15);
  sections_.push_back({static_cast<uint32_t>(kind), std::move(name), std::move(data)});
}

void XclbinWriter::AddSection(XclbinSectionKind kind, std::string name, std::string_view text) {
  AddSection(kind, std::move(name), std::vector<uint8_t>(text.begin(), text.end()));
}

std::vector<uint8_t> XclbinWriter::Serialize() const {
  // struct axlf already holds one section header; the others follow it.
  const size_t n = sections_.size();
  const size_t headers_end = L::kSectionHeadersOffset + std::max<size_t>(n, 1) * L::kSectionHeaderBytes;
  size_t total = Align8(headers_end);
  std::vector<size_t> offsets;
  for (const Pending& s : sections_) {
    offsets.push_back(total);
    total = Align8(total + s.data.size());
  }
  std::vector<uint8_t> bytes(total, 0);
  uint8_t* b = bytes.data();
  if (b == nullptr) return bytes;  // never: total >= the header's size; tells the compiler so
  std::memcpy(b + L::kMagicOffset, kMagic, sizeof kMagic);
  Store<int32_t>(b, L::kSignatureLengthOffset, -1);
  std::memset(b + L::kReservedOffset, 0xFF, 28);
  std::memset(b + L::kKeyBlockOffset, 0xFF, 256);
  Store<uint64_t>(b, L::kUniqueIdOffset, timestamp_);
  const size_t h = L::kHeaderOffset;
  Store<uint64_t>(b, h + L::kHeaderLength, total);
  Store<uint64_t>(b, h + L::kHeaderTimeStamp, timestamp_);
  // Version 2.13.0, the XRT these files are made for; XRT does not check it.
  Store<uint16_t>(b, h + L::kHeaderVersionPatch, 0);
  Store<uint8_t>(b, h + L::kHeaderVersionMajor, 2);
  Store<uint8_t>(b, h + L::kHeaderVersionMinor, 13);
  Store<uint16_t>(b, h + L::kHeaderMode, 0);  // XCLBIN_FLAT
  std::memcpy(b + h + L::kHeaderPlatformVbnv, platform_vbnv_.data(), std::min<size_t>(63, platform_vbnv_.size()));
  std::memcpy(b + h + L::kHeaderUuid, uuid_.data(), 16);
  Store<uint32_t>(b, h + L::kHeaderNumSections, static_cast<uint32_t>(n));
  for (size_t i = 0; i < n; i++) {
    const size_t at = L::kSectionHeadersOffset + i * L::kSectionHeaderBytes;
    Store<uint32_t>(b, at + L::kSectionKind, sections_[i].kind);
    // At most 15 characters (AddSection) into the zeroed 16-byte field: the name ends with a NUL.
    std::copy(sections_[i].name.begin(), sections_[i].name.end(), b + at + L::kSectionName);
    Store<uint64_t>(b, at + L::kSectionOffset, offsets[i]);
    Store<uint64_t>(b, at + L::kSectionSize, sections_[i].data.size());
    if (!sections_[i].data.empty()) std::memcpy(b + offsets[i], sections_[i].data.data(), sections_[i].data.size());
  }
  return bytes;
}

}  // namespace fpgaserve
