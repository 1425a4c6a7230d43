// `fpgaserve model convert`, run as a user runs it: llama2.c <-> GGUF without losing a bit where the
// formats allow it, and clear refusals where they do not.
#include <cstdio>
#include <string>

#include <gtest/gtest.h>

#include "server/api/http_test_util.h"
#include "server/model/checkpoint.h"
#include "server/model/gguf_model.h"
#include "support/test_support.h"

namespace fpgaserve {
namespace {

// Runs `fpgaserve <args>`; returns its exit status and puts what it printed (stdout and stderr) in `out`.
int RunFpgaserve(const std::string& args, std::string* out) {
  const std::string cmd = testing::FpgaserveBinary() + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return -1;
  char buf[4096];
  size_t n;
  out->clear();
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out->append(buf, n);
  const int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// fp32 llama2.c -> GGUF (with the vocabulary) -> fp32 llama2.c gives the same file, byte for byte; the GGUF
// carries the vocabulary, so it opens as a model with its own tokenizer.
TEST(ModelConvertCommand, Llama2cToGgufAndBackIsLosslessInFp32) {
  testing::TempDir dir;
  std::string out;
  const std::string a = dir.file("a.bin"), gguf = dir.file("a.gguf"), b = dir.file("b.bin");
  const std::string tok = dir.file("tokenizer.bin");
  ASSERT_TRUE(testing::WriteFile(tok, testing::TestTokenizerBytes()));
  ASSERT_EQ(RunFpgaserve("model random --shape tiny --format v1 " + a, &out), 0) << out;
  ASSERT_EQ(RunFpgaserve("model convert " + a + " " + gguf + " --tokenizer " + tok, &out), 0) << out;
  EXPECT_NE(out.find("wrote"), std::string::npos) << out;
  auto model = GgufModel::Open(gguf);
  ASSERT_TRUE(model.ok()) << model.status().message();
  EXPECT_NE(model.value()->file().Find("tokenizer.ggml.tokens"), nullptr);
  ASSERT_EQ(RunFpgaserve("model convert " + gguf + " " + b + " --format v1", &out), 0) << out;
  EXPECT_EQ(testing::ReadFile(a), testing::ReadFile(b));
  // Q8_0 llama2.c output opens as a v2 checkpoint.
  ASSERT_EQ(RunFpgaserve("model convert " + gguf + " " + dir.file("c.bin"), &out), 0) << out;
  auto q8 = Checkpoint::Open(dir.file("c.bin"));
  ASSERT_TRUE(q8.ok()) << q8.status().message();
}

TEST(ModelConvertCommand, WhatTheFormatsCannotHoldIsRefused) {
  testing::TempDir dir;
  std::string out;
  const std::string a = dir.file("a.bin"), gguf = dir.file("l3.gguf");
  ASSERT_EQ(RunFpgaserve("model random --shape tiny " + a, &out), 0) << out;
  EXPECT_NE(RunFpgaserve("model convert " + a + " " + dir.file("x.gguf"), &out), 0);
  EXPECT_NE(out.find("--tokenizer tokenizer.bin"), std::string::npos) << out;
  // GGUF to GGUF is not a conversion; a missing input is named.
  ASSERT_TRUE(testing::WriteFile(dir.file("tokenizer.bin"), testing::TestTokenizerBytes()));
  ASSERT_EQ(RunFpgaserve("model convert " + a + " " + gguf + " --tokenizer " + dir.file("tokenizer.bin"), &out), 0)
      << out;
  EXPECT_NE(RunFpgaserve("model convert " + gguf + " " + dir.file("y.gguf"), &out), 0);
  EXPECT_NE(out.find("GGUF file already"), std::string::npos) << out;
  EXPECT_NE(RunFpgaserve("model convert " + dir.file("missing.bin") + " " + dir.file("z.gguf") + " --tokenizer x",
                         &out),
            0);
  EXPECT_NE(out.find("missing.bin"), std::string::npos) << out;
}

}  // namespace
}  // namespace fpgaserve
