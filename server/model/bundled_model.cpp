#include "server/model/bundled_model.h"

#include <cstdlib>

namespace fpgaserve {

std::string BundledModelsDir() {
  const char* env = std::getenv("FPGASERVE_MODELS_DIR");
  return env != nullptr && *env != '\0' ? std::string(env) : std::string(FPGASERVE_MODELS_DIR);
}

std::string BundledModelPath() { return BundledModelsDir() + "/austen-1m-q8.bin"; }
std::string BundledTokenizerPath() { return BundledModelsDir() + "/austen-tokenizer.bin"; }

}  // namespace fpgaserve
