// fpgaserve: one binary, subcommands (serve, generate, model, bench, eval, estimate).
//
// No exception leaves main: errors are Status values inside the program, and what escapes anyway (an
// allocation that failed past the start-up checks, a third-party throw) ends here with a one-line message
// and exit code 1, not "terminate called ...".
#include <cstdio>
#include <exception>
#include <new>

#include "server/cli/commands.h"

namespace fpgaserve::cli {

void Fail(const std::string& message) {
  std::fprintf(stderr, "fpgaserve: %s\n", message.c_str());
  throw CLI::RuntimeError(1);
}

}  // namespace fpgaserve::cli

int main(int argc, char** argv) {
  // Building the app is inside the try too: CLI11 throws on a malformed option, and any allocation may fail.
  try {
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
    try {
      app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {  // usage errors, --help, and Fail()'s CLI::RuntimeError
      return app.exit(e);
    }
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr,
                 "fpgaserve: out of memory (std::bad_alloc); lower the sizes asked for "
                 "(--kv-slots, --cache-len, the model) or free memory\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fpgaserve: unexpected error: %s\n", e.what());
    return 1;
  } catch (...) {
    std::fprintf(stderr, "fpgaserve: unexpected error (a non-standard exception)\n");
    return 1;
  }
  return 0;
}
