// ServeProcess: the real `fpgaserve serve` binary on a free loopback port, with a generated `tiny` model and
// the test tokenizer, for the HTTP integration tests. The process is killed (SIGKILL) if the test did not
// stop it; every wait is bounded.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>

#include "server/api/http_test_util.h"
#include "support/test_support.h"

namespace fpgaserve::testing {

class ServeProcess {
 public:
  // Starts the server on a random `tiny` model with the test tokenizer, served as "tiny", with `extra`
  // flags after the model, tokenizer and port flags. Check ok() afterwards.
  explicit ServeProcess(const std::vector<std::string>& extra) {
    model_ = dir_.file("tiny.bin");
    const std::string make_model = FpgaserveBinary() + " model random --shape tiny " + model_ + " >/dev/null 2>&1";
    if (std::system(make_model.c_str()) != 0) return;
    WriteFile(dir_.file("tokenizer.bin"), TestTokenizerBytes());
    Start({"--model", model_, "--tokenizer", dir_.file("tokenizer.bin"), "--served-model-name", "tiny"}, extra);
  }
  // Starts the server with `model_flags` (the model and whatever else names it) instead of the tiny model's.
  ServeProcess(const std::vector<std::string>& model_flags, const std::vector<std::string>& extra) {
    Start(model_flags, extra);
  }
  ~ServeProcess() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }

  bool ok() const { return ready_; }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }  // the daemon's, for /proc/PID figures
  std::string log() const { return ReadFile(log_); }
  httplib::Client Client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_connection_timeout(5);
    c.set_read_timeout(60);
    return c;
  }
  void Signal(int sig) { kill(pid_, sig); }
  // Waits up to `timeout` for the process to exit; returns its exit status, or -1 (still running / killed).
  // A process that already exited (during start-up, say) returns its status at once.
  int WaitExit(std::chrono::milliseconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (alive() && std::chrono::steady_clock::now() < end) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return exited_ ? exit_code_ : -1;
  }

 private:
  void Start(const std::vector<std::string>& model_flags, const std::vector<std::string>& extra) {
    log_ = dir_.file("serve.log");
    std::vector<std::string> args = {FpgaserveBinary(), "serve", "--host", "127.0.0.1"};
    // A free port and a 1 s keep-alive (tests end sooner), unless the test asks for others.
    auto given = [&](const char* flag) { return std::find(extra.begin(), extra.end(), flag) != extra.end(); };
    if (!given("--port")) args.insert(args.end(), {"--port", "0"});
    if (!given("--http-keep-alive-timeout-s")) args.insert(args.end(), {"--http-keep-alive-timeout-s", "1"});
    args.insert(args.end(), model_flags.begin(), model_flags.end());
    args.insert(args.end(), extra.begin(), extra.end());
    pid_ = fork();
    if (pid_ == 0) {
      FILE* out = std::freopen(log_.c_str(), "w", stdout);
      if (out == nullptr || dup2(fileno(stdout), 2) < 0) _exit(127);
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    // The log's "listening" line names the port (--log-format text or json); then wait for /health 200
    // (model loaded). (Plain string search: std::regex trips GCC 12's -Wmaybe-uninitialized under the
    // sanitizers.)
    const std::string listening[] = {"listening address=http://127.0.0.1:",
                                     R"("msg":"listening","address":"http://127.0.0.1:)"};
    for (int i = 0; i < 600 && port_ == 0 && alive(); ++i) {
      const std::string text = ReadFile(log_);
      for (const std::string& l : listening) {
        const size_t at = text.find(l);
        if (at != std::string::npos) port_ = std::atoi(text.c_str() + at + l.size());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (port_ == 0) return;
    for (int i = 0; i < 600 && alive(); ++i) {
      auto res = Client().Get("/health");
      if (res && res->status == 200) {
        ready_ = true;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  bool alive() {
    int status = 0;
    if (!exited_ && waitpid(pid_, &status, WNOHANG) == pid_) {
      exited_ = true;
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    return !exited_;
  }

  TempDir dir_;
  std::string model_;
  std::string log_;
  pid_t pid_ = -1;
  int port_ = 0;
  bool ready_ = false;
  bool exited_ = false;
  int exit_code_ = -1;  // once exited_: the exit status, or -1 when a signal ended it
};

}  // namespace fpgaserve::testing
