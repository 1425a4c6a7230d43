// WriteCheckpoint: the header bytes llama2.c expects, refusal of incomplete views, and atomic replacement.
#include "server/model/checkpoint_writer.h"

#include <sys/stat.h>

#include <cstring>
#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "server/model/random_model.h"
#include "support/test_support.h"

namespace fpgaserve {
namespace {

using ::testing::HasSubstr;

ModelConfig Tiny() { return NamedShape("tiny").value(); }

int32_t Int32At(const std::string& bytes, size_t offset) {
  int32_t v;
  std::memcpy(&v, bytes.data() + offset, 4);
  return v;
}

std::vector<std::string> FilesIn(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) names.push_back(e.path().filename().string());
  return names;
}

TEST(WriteCheckpointTest, V2HeaderIsLlama2cs) {
  RandomModel m = MakeRandomModel(Tiny(), 1);
  testing::TempDir dir;
  const std::string path = dir.file("m.bin");
  ASSERT_TRUE(WriteCheckpoint(m.view, path, CheckpointFormat::kV2Q8).ok());
  const std::string b = testing::ReadFile(path);
  ASSERT_GE(b.size(), 256u);
  // The uint32 0x616b3432 ("ak42" read as a big-endian number) is the bytes 32 34 6b 61: "24ka" on disk.
  EXPECT_EQ(b.substr(0, 4), "24ka");
  EXPECT_EQ(Int32At(b, 4), 2);
  const int32_t want[7] = {64, 192, 2, 4, 2, 512, 128};
  for (int i = 0; i < 7; i++) EXPECT_EQ(Int32At(b, 8 + 4 * static_cast<size_t>(i)), want[i]) << "field " << i;
  EXPECT_EQ(b[36], 1);            // shared classifier
  EXPECT_EQ(Int32At(b, 37), 64);  // group size, unaligned
  EXPECT_EQ(b.substr(41, 256 - 41), std::string(256 - 41, '\0'));
  // 256 + fp32 norms + per matrix int8 values and fp32 scales.
  const uint64_t norms = (2 * 2 + 1) * 64;
  const uint64_t matrices = ParameterCount(Tiny()) - norms;
  EXPECT_EQ(b.size(), 256 + 4 * norms + matrices + 4 * matrices / 64);
}

TEST(WriteCheckpointTest, V1HeaderHasNoGroupSize) {
  RandomModel m = MakeRandomModel(Tiny(), 1);
  testing::TempDir dir;
  const std::string path = dir.file("m.bin");
  ASSERT_TRUE(WriteCheckpoint(m.view, path, CheckpointFormat::kV1Float).ok());
  const std::string b = testing::ReadFile(path);
  EXPECT_EQ(Int32At(b, 4), 1);
  EXPECT_EQ(b.substr(37, 256 - 37), std::string(256 - 37, '\0'));
  EXPECT_EQ(b.size(), 256 + 4 * ParameterCount(Tiny()));
}

TEST(WriteCheckpointTest, RefusesToWriteV0) {
  RandomModel m = MakeRandomModel(Tiny(), 1);
  testing::TempDir dir;
  const Status s = WriteCheckpoint(m.view, dir.file("m.bin"), CheckpointFormat::kV0Legacy);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("v0"));
  EXPECT_TRUE(FilesIn(dir.path()).empty());
}

TEST(WriteCheckpointTest, RefusesIncompleteOrMisshapenViews) {
  testing::TempDir dir;
  const std::string path = dir.file("m.bin");
  auto expect_refused = [&](const ModelView& v, const std::string& needle) {
    const Status s = WriteCheckpoint(v, path, CheckpointFormat::kV2Q8);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << needle;
    EXPECT_THAT(s.message(), HasSubstr(path));
    EXPECT_THAT(s.message(), HasSubstr(needle));
    EXPECT_TRUE(FilesIn(dir.path()).empty()) << needle;
  };
  RandomModel m = MakeRandomModel(Tiny(), 1);
  ModelView v = m.view;
  v.layers[1].rms_ffn = nullptr;
  expect_refused(v, "a norm of layer 1 has no values");
  v = m.view;
  v.layers[0].w2.cols = 64;
  expect_refused(v, "w2 of layer 0 is 64x64, the config says 64x192");
  v = m.view;
  v.config.shared_classifier = false;  // and no classifier of its own
  v.classifier = MatrixView{};
  expect_refused(v, "classifier is 0x0");
  v = m.view;
  v.config.group_size = 48;
  expect_refused(v, "group_size 48 does not divide dim 64");
  v = m.view;
  v.layers.pop_back();
  expect_refused(v, "1 layers");
}

TEST(WriteCheckpointTest, AMissingFolderIsNotFoundAndWritesNothing) {
  RandomModel m = MakeRandomModel(Tiny(), 1);
  testing::TempDir dir;
  const Status s = WriteCheckpoint(m.view, dir.file("no/such/m.bin"), CheckpointFormat::kV1Float);
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_THAT(s.message(), HasSubstr(dir.file("no/such/m.bin")));
  EXPECT_TRUE(FilesIn(dir.path()).empty());
}

TEST(WriteCheckpointTest, ReplacesAtomicallyAndLeavesNoTemporaryBehind) {
  RandomModel a = MakeRandomModel(Tiny(), 1), b = MakeRandomModel(Tiny(), 2);
  testing::TempDir dir;
  const std::string path = dir.file("m.bin");
  ASSERT_TRUE(WriteCheckpoint(a.view, path, CheckpointFormat::kV2Q8).ok());
  const std::string first = testing::ReadFile(path);
  ASSERT_TRUE(WriteCheckpoint(b.view, path, CheckpointFormat::kV2Q8).ok());
  EXPECT_NE(testing::ReadFile(path), first);
  EXPECT_EQ(FilesIn(dir.path()), std::vector<std::string>{"m.bin"});
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);

  // A failed write (the target is a folder, so the rename fails) keeps what was there.
  const std::string folder = dir.file("folder");
  std::filesystem::create_directory(folder);
  testing::WriteFile(folder + "/keep", "x");
  const Status s = WriteCheckpoint(a.view, folder, CheckpointFormat::kV2Q8);
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr(folder));
  EXPECT_EQ(testing::ReadFile(folder + "/keep"), "x");
  EXPECT_EQ(FilesIn(dir.path()).size(), 2u) << "a temporary file was left behind";
}

}  // namespace
}  // namespace fpgaserve
