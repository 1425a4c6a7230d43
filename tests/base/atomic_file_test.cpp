#include "base/atomic_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace fpgaserve {
namespace {

using ::testing::HasSubstr;

class AtomicFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("fpgaserve-atomic-" + std::to_string(::getpid()) + "-" +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string File(const std::string& name) const { return (dir_ / name).string(); }
  std::vector<std::string> Names() const {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir_)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }
  static std::string Read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  static std::function<int(std::FILE*)> Writes(const std::string& text) {
    return [text](std::FILE* f) { return std::fputs(text.c_str(), f) < 0 ? EIO : 0; };
  }
  std::filesystem::path dir_;
};

TEST_F(AtomicFileTest, ReplacesTheFileWholeWithMode0644AndNoTemporaryLeft) {
  ASSERT_TRUE(WriteFileAtomically(File("a"), "test file", Writes("first")).ok());
  ASSERT_TRUE(WriteFileAtomically(File("a"), "test file", Writes("second")).ok());
  EXPECT_EQ(Read(File("a")), "second");
  EXPECT_EQ(Names(), std::vector<std::string>{"a"});
  struct stat st {};
  ASSERT_EQ(::stat(File("a").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
}

TEST_F(AtomicFileTest, AWriterThatFailsLeavesTheOldFileAndNoTemporary) {
  ASSERT_TRUE(WriteFileAtomically(File("a"), "test file", Writes("old")).ok());
  const Status s = WriteFileAtomically(File("a"), "test file", [](std::FILE* f) {
    std::fputs("half", f);
    return ENOSPC;
  });
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_THAT(s.message(), HasSubstr("cannot write test file " + File("a")));
  EXPECT_EQ(Read(File("a")), "old");
  EXPECT_EQ(Names(), std::vector<std::string>{"a"});
}

TEST_F(AtomicFileTest, AMissingFolderIsNotFoundAndAFolderInTheWayIsRefused) {
  EXPECT_EQ(WriteFileAtomically(File("no/such/a"), "test file", Writes("x")).code(), StatusCode::kNotFound);
  std::filesystem::create_directory(File("folder"));
  const Status s = WriteFileAtomically(File("folder"), "test file", Writes("x"));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Names(), std::vector<std::string>{"folder"}) << "the temporary was removed";
}

}  // namespace
}  // namespace fpgaserve
