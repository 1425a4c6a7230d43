// The main a fuzz harness links in the ordinary builds (no libFuzzer): runs LLVMFuzzerTestOneInput once on
// every file named, or found under a folder named (recursively), so CTest replays the committed corpus and
// the regressions of past findings under every build's sanitizers. A finding aborts (FUZZ_CHECK) or is a
// sanitizer report; either fails the test.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

int RunFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "replay: cannot read %s\n", path.c_str());
    return 1;
  }
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int inputs = 0;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path arg = argv[i];
    std::vector<std::filesystem::path> files;
    if (std::filesystem::is_directory(arg)) {
      for (const auto& e : std::filesystem::recursive_directory_iterator(arg)) {
        if (e.is_regular_file()) files.push_back(e.path());
      }
    } else {
      files.push_back(arg);
    }
    for (const auto& f : files) {
      if (RunFile(f) != 0) return 1;
      ++inputs;
    }
  }
  std::printf("replay: %d inputs, no finding\n", inputs);
  // An empty corpus would make the test pass without running anything.
  return inputs > 0 ? 0 : 1;
}
