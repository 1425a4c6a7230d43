// Where the bundled demo model lives (models/ in the source tree, or an installed copy): the default of
// `generate`, `serve` and the container. FPGASERVE_MODELS_DIR in the environment overrides the folder
// compiled in.
#pragma once

#include <string>

namespace fpgaserve {

std::string BundledModelsDir();
std::string BundledModelPath();      // <dir>/austen-1m-q8.bin
std::string BundledTokenizerPath();  // <dir>/austen-tokenizer.bin

}  // namespace fpgaserve
