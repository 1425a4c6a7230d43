// Xclbin: the container an FPGA binary comes in (XRT's "axlf" format), read and written by our own code.
//
// An xclbin is a fixed header (struct axlf in XRT's xclbin.h: magic "xclbin2", signature, a 152-byte
// axlf_header with the total length, platform name and uuid) followed by an array of 40-byte section
// headers (kind, name, offset, size) and the sections' bytes. We read one to check it before XRT loads
// it (a corrupted or foreign file gets a message naming the file and what is wrong, not an XRT
// exception) and to find our build metadata; we write one to make the metadata-only xclbins the tests
// and `fpgaserve xclbin make-test` use (Debian's xclbinutil does not run).
//
// The layouts are repeated here, not included from <xrt/xclbin.h>, so that this file builds without XRT
// (`fpgaserve xclbin info` works everywhere); tests/fpga/xclbin_test.cpp checks every offset against
// XRT's own header when XRT is installed.
//
// An .awsxclbin (AWS F1) is the same container: create_vitis_afi.sh replaces the BITSTREAM section's
// design checkpoint with the AFI's id ("agfi-0123..."), and XRT's AWS shim loads that AFI when the
// file is passed to load_xclbin. Every other section (metadata, ours included) is kept.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace fpgaserve {

// Section kinds we read or write: values of enum axlf_section_kind in XRT's xclbin.h.
enum class XclbinSectionKind : uint32_t {
  kBitstream = 0,
  kEmbeddedMetadata = 2,
  kMemTopology = 6,
  kConnectivity = 7,
  kIpLayout = 8,
  kClockFreqTopology = 11,
  kBuildMetadata = 14,
  kKeyValueMetadata = 15,
  kUserMetadata = 16,
  kGroupTopology = 26,      // ASK_GROUP_TOPOLOGY: MEM_TOPOLOGY's memories, then groups of them
  kGroupConnectivity = 27,  // ASK_GROUP_CONNECTIVITY: CONNECTIVITY, indexing GROUP_TOPOLOGY
};

// "EMBEDDED_METADATA", ..., or "kind 23" for one we do not name.
std::string XclbinSectionKindName(uint32_t kind);

struct XclbinSectionInfo {
  uint32_t kind = 0;
  std::string name;  // the header's 16-byte name, up to its first NUL
  uint64_t offset = 0;
  uint64_t size = 0;
};

// A parsed xclbin, holding the file's bytes. Immutable; safe to share between threads.
class Xclbin {
 public:
  // Checks the container (magic, length, every section inside the file) and keeps the bytes. `what`
  // names the file in messages. InvalidArgument when the bytes are not a well-formed xclbin.
  static Result<Xclbin> Parse(std::vector<uint8_t> bytes, const std::string& what);
  // NotFound when the file does not exist, InvalidArgument when it cannot be read or is not an xclbin.
  static Result<Xclbin> ReadFile(const std::string& path);

  const std::vector<uint8_t>& bytes() const { return bytes_; }
  const std::vector<XclbinSectionInfo>& sections() const { return sections_; }
  const std::string& platform_vbnv() const { return platform_vbnv_; }
  const std::array<uint8_t, 16>& uuid() const { return uuid_; }
  std::string uuid_string() const;  // 8-4-4-4-12 lowercase hex
  uint64_t timestamp() const { return timestamp_; }

  // The bytes of the first section of this kind, or nullopt. The view lives as long as this object.
  std::optional<std::string_view> Section(XclbinSectionKind kind) const;

  // The AFI id when this is an .awsxclbin (its BITSTREAM section holds "agfi-..."), else "".
  std::string AwsAfiId() const;

 private:
  std::vector<uint8_t> bytes_;
  std::vector<XclbinSectionInfo> sections_;
  std::string platform_vbnv_;
  std::array<uint8_t, 16> uuid_{};
  uint64_t timestamp_ = 0;
};

// Builds an xclbin from sections. Sections are laid out in the order added, each on an 8-byte boundary
// (as xclbinutil does), after the header and the section-header array.
class XclbinWriter {
 public:
  void set_platform_vbnv(std::string vbnv) { platform_vbnv_ = std::move(vbnv); }
  void set_uuid(const std::array<uint8_t, 16>& uuid) { uuid_ = uuid; }
  void set_timestamp(uint64_t seconds) { timestamp_ = seconds; }
  // `name` is cut to 15 characters (the header keeps 16 with a NUL).
  void AddSection(XclbinSectionKind kind, std::string name, std::vector<uint8_t> data);
  void AddSection(XclbinSectionKind kind, std::string name, std::string_view text);

  std::vector<uint8_t> Serialize() const;

 private:
  struct Pending {
    uint32_t kind;
    std::string name;
    std::vector<uint8_t> data;
  };
  std::string platform_vbnv_;
  std::array<uint8_t, 16> uuid_{};
  uint64_t timestamp_ = 0;
  std::vector<Pending> sections_;
};

// Byte offsets of the container's fixed fields (XRT's struct axlf / axlf_header / axlf_section_header),
// exposed so the test can compare them with <xrt/xclbin.h>.
namespace xclbin_layout {
constexpr size_t kMagicOffset = 0;            // char m_magic[8] = "xclbin2"
constexpr size_t kSignatureLengthOffset = 8;  // int32 m_signature_length, -1 = unsigned
constexpr size_t kReservedOffset = 12;        // 28 bytes of 0xFF
constexpr size_t kKeyBlockOffset = 40;        // 256 bytes of 0xFF
constexpr size_t kUniqueIdOffset = 296;       // uint64 m_uniqueId
constexpr size_t kHeaderOffset = 304;         // struct axlf_header m_header
constexpr size_t kHeaderLength = 0;           // uint64 m_length: the whole file's size
constexpr size_t kHeaderTimeStamp = 8;        // uint64 m_timeStamp
constexpr size_t kHeaderFeatureRomTimeStamp = 16;
constexpr size_t kHeaderVersionPatch = 24;  // uint16
constexpr size_t kHeaderVersionMajor = 26;  // uint8
constexpr size_t kHeaderVersionMinor = 27;  // uint8
constexpr size_t kHeaderMode = 28;          // uint16 m_mode (XCLBIN_FLAT = 0)
constexpr size_t kHeaderActionMask = 30;    // uint16
constexpr size_t kHeaderRomUuid = 32;       // 16 bytes
constexpr size_t kHeaderPlatformVbnv = 48;  // char[64]
constexpr size_t kHeaderUuid = 112;         // xuid_t uuid (16 bytes)
constexpr size_t kHeaderDebugBin = 128;     // char[16]
constexpr size_t kHeaderNumSections = 144;  // uint32
constexpr size_t kHeaderBytes = 152;
constexpr size_t kSectionHeadersOffset = 456;  // struct axlf_section_header m_sections[]
constexpr size_t kSectionHeaderBytes = 40;     // uint32 kind, char name[16], (pad 4), uint64 offset, uint64 size
constexpr size_t kSectionKind = 0;
constexpr size_t kSectionName = 4;
constexpr size_t kSectionOffset = 24;
constexpr size_t kSectionSize = 32;
constexpr size_t kAxlfBytes = 496;  // sizeof(struct axlf): header plus one section header
}  // namespace xclbin_layout

}  // namespace fpgaserve
