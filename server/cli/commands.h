// The fpgaserve subcommands. Each Add*Command registers one subcommand (and its own subcommands) on the
// app; its callback does the work and reports failure by throwing CLI::RuntimeError(exit_code) after
// printing a one-line message to stderr, so main() stays a dispatcher.
#pragma once

#include <CLI/CLI.hpp>

namespace fpgaserve::cli {

void AddModelCommand(CLI::App& app);            // model info | quantize | random
void AddModelLogitsCommand(CLI::App& model);    // model logits: log-probabilities and greedy tokens as JSON
void AddGenerateCommand(CLI::App& app);         // generate: text from a prompt, in-process
void AddBenchCommand(CLI::App& app);            // bench kernel | serve | llamacpp
void AddBenchServeCommand(CLI::App& bench);     // bench serve: load generator for any OpenAI-compatible server
void AddBenchLlamaCppCommand(CLI::App& bench);  // bench llamacpp: llama.cpp's decode tok/s against the simulated card's
void AddServeCommand(CLI::App& app);            // serve: the daemon
void AddEvalCommand(CLI::App& app);             // eval perplexity
void AddEstimateCommand(CLI::App& app);         // estimate: the F1 card's performance model
void AddXclbinCommand(CLI::App& app);           // xclbin info | make-test
void AddTokenizeCommand(CLI::App& app);         // tokenize: text to token ids with a model's vocabulary

// Prints "fpgaserve: <message>" to stderr and throws CLI::RuntimeError(1).
[[noreturn]] void Fail(const std::string& message);

}  // namespace fpgaserve::cli
