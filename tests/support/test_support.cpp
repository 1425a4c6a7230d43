#include "support/test_support.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace fpgaserve::testing {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base && *base ? base : "/tmp") + "/fpgaserve-test-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + pattern);
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string SharedDataFile(const std::string& name) {
  const std::string path = std::string(FPGASERVE_SHARED_DATA) + "/" + name;
  return std::filesystem::exists(path) ? path : std::string();
}

std::string FpgaserveBinary() { return FPGASERVE_BINARY; }
std::string SourceDir() { return FPGASERVE_SOURCE_DIR; }

bool WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return static_cast<bool>(out);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string LlamaTokenizerFileBytes(const std::vector<std::pair<std::string, float>>& pieces) {
  std::string out;
  auto put_u32 = [&](uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  };
  size_t longest = 0;
  for (const auto& piece : pieces) longest = std::max(longest, piece.first.size());
  put_u32(static_cast<uint32_t>(longest));
  for (const auto& [text, score] : pieces) {
    uint32_t bits;
    std::memcpy(&bits, &score, 4);
    put_u32(bits);
    put_u32(static_cast<uint32_t>(text.size()));
    out += text;
  }
  return out;
}

size_t Numel(const MatrixView& m) { return static_cast<size_t>(m.rows) * static_cast<size_t>(m.cols); }

std::vector<const MatrixView*> Matrices(const ModelView& v) {
  std::vector<const MatrixView*> out = {&v.token_embedding};
  for (const LayerView& l : v.layers) {
    for (const MatrixView* m : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w1, &l.w2, &l.w3}) out.push_back(m);
  }
  out.push_back(&v.classifier);
  return out;
}

}  // namespace fpgaserve::testing
