// Helpers every test binary shares: temporary folders and the paths of shared test data.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "fpga/model_view.h"

namespace fpgaserve::testing {

// A fresh folder under $TMPDIR, removed with everything in it when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// ../shared/data/<name> beside the checkout, or "" when it is absent (tests then GTEST_SKIP with a message).
std::string SharedDataFile(const std::string& name);

// The fpgaserve binary built with the tests, and the source tree.
std::string FpgaserveBinary();
std::string SourceDir();

// Writes bytes to a file; returns false on failure.
bool WriteFile(const std::string& path, const std::string& bytes);
std::string ReadFile(const std::string& path);

// The bytes of a llama2.c tokenizer file: the longest piece's length, then per piece its score (fp32), its length
// and its bytes, all little-endian.
std::string LlamaTokenizerFileBytes(const std::vector<std::pair<std::string, float>>& pieces);

// The values of a matrix, and the matrices of a model view in one list, the classifier last (the model
// readers' tests compare views matrix by matrix).
size_t Numel(const MatrixView& m);
std::vector<const MatrixView*> Matrices(const ModelView& v);

}  // namespace fpgaserve::testing
