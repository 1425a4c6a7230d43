// The daemon's config file: ResolveServerConfig with --config naming the input as a file and an empty
// environment; a config it accepts must pass its own validation and print.
#include <cstdint>
#include <optional>
#include <string>

#include "fuzz_util.h"
#include "server/http/server_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fpgaserve;
  const fuzz::MemFile file(fuzz::AsText(data, size));
  const EnvLookup no_env = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
  Result<ServerConfig> c = ResolveServerConfig({{"config", file.path()}}, no_env);
  if (!c.ok()) return 0;
  FUZZ_CHECK(ValidateServerConfig(c.value()).ok());
  for (const ConfigOption& option : ConfigOptions()) (void)ConfigValueText(c.value(), option);
  return 0;
}
