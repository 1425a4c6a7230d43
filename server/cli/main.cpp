// fpgaserve: one binary, subcommands (serve, generate, model, bench, eval, estimate).
#include <cstdio>

#include "server/cli/commands.h"

namespace fpgaserve::cli {

void Fail(const std::string& message) {
  std::fprintf(stderr, "fpgaserve: %s\n", message.c_str());
  throw CLI::RuntimeError(1);
}

}  // namespace fpgaserve::cli

int main(int argc, char** argv) {
  CLI::App app{"fpgaserve: an OpenAI-compatible LLM server for FPGA cards"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "fpgaserve 0.1.0");
  // One line per subcommand; each lives in its own *_command.cpp.
  fpgaserve::cli::AddModelCommand(app);
  fpgaserve::cli::AddModelLogitsCommand(*app.get_subcommand("model"));
  fpgaserve::cli::AddGenerateCommand(app);
  fpgaserve::cli::AddBenchCommand(app);
  fpgaserve::cli::AddServeCommand(app);
  fpgaserve::cli::AddEvalCommand(app);
  fpgaserve::cli::AddEstimateCommand(app);
  fpgaserve::cli::AddXclbinCommand(app);
  fpgaserve::cli::AddTokenizeCommand(app);
  CLI11_PARSE(app, argc, argv);
  return 0;
}
