#include "server/bench/workload.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "server/bench/http_target.h"
#include "support/test_support.h"

namespace fpgaserve {
namespace {

using nlohmann::json;

TEST(WorkloadTest, RandomTokenIdPromptsHaveExactLengthsAndAskForExactOutput) {
  WorkloadOptions o;
  o.model = "m";
  o.num_prompts = 5;
  o.input_tokens = 17;
  o.output_tokens = 9;
  o.vocab_size = 100;
  auto specs = RandomWorkload(o);
  ASSERT_TRUE(specs.ok()) << specs.status().ToString();
  ASSERT_EQ(specs->size(), 5u);
  const json body = json::parse(specs->front().body);
  EXPECT_EQ(body["prompt"].size(), 17u);
  for (int id : body["prompt"]) EXPECT_TRUE(id >= 3 && id < 100);
  EXPECT_EQ(body["max_tokens"], 9);
  EXPECT_EQ(body["ignore_eos"], true);
  EXPECT_EQ(body["stream"], true);
  EXPECT_EQ(body["stream_options"]["include_usage"], true);
  EXPECT_NE(specs->at(0).body, specs->at(1).body);              // different prompts: no accidental prefix caching
  EXPECT_EQ(RandomWorkload(o)->at(3).body, specs->at(3).body);  // reproducible
}

TEST(WorkloadTest, ChatPromptsAreTextMessages) {
  WorkloadOptions o;
  o.endpoint = Endpoint::kChat;
  o.prompt_kind = PromptKind::kText;
  o.num_prompts = 2;
  o.tokens_per_word = 2.0;
  o.input_tokens = 20;
  auto specs = RandomWorkload(o);
  ASSERT_TRUE(specs.ok());
  const json body = json::parse(specs->front().body);
  EXPECT_EQ(body["messages"][0]["role"], "user");
  const std::string text = body["messages"][0]["content"];
  EXPECT_EQ(std::count(text.begin(), text.end(), ' '), 9);  // 10 words
  o.prompt_kind = PromptKind::kTokenIds;
  EXPECT_FALSE(RandomWorkload(o).ok());
}

TEST(WorkloadTest, DatasetLinesAreUsedInOrderAndCycled) {
  testing::TempDir dir;
  ASSERT_TRUE(testing::WriteFile(dir.file("d.jsonl"),
                                 "{\"prompt\": \"hello\"}\n\n{\"prompt\": [5, 6, 7], \"max_tokens\": 3}\n"));
  WorkloadOptions o;
  o.num_prompts = 3;
  auto specs = DatasetWorkload(dir.file("d.jsonl"), o);
  ASSERT_TRUE(specs.ok()) << specs.status().ToString();
  EXPECT_EQ(json::parse(specs->at(0).body)["prompt"], "hello");
  EXPECT_EQ(specs->at(1).input_tokens, 3);
  EXPECT_EQ(specs->at(1).output_tokens, 3);
  EXPECT_EQ(specs->at(2).body, specs->at(0).body);
  ASSERT_TRUE(testing::WriteFile(dir.file("bad.jsonl"), "{\"prompt\": \"ok\"}\n{\"text\": 1}\n"));
  auto bad = DatasetWorkload(dir.file("bad.jsonl"), o);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("bad.jsonl:2"), std::string::npos);
  ASSERT_TRUE(
      testing::WriteFile(dir.file("chat.jsonl"), "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}\n"));
  EXPECT_FALSE(DatasetWorkload(dir.file("chat.jsonl"), o).ok());  // messages need --endpoint chat
  o.endpoint = Endpoint::kChat;
  EXPECT_TRUE(DatasetWorkload(dir.file("chat.jsonl"), o).ok());
}

TEST(HttpTargetTest, ParsesHttpUrlsAndRefusesHttps) {
  auto t = ParseHttpUrl("http://127.0.0.1:8080");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->host, "127.0.0.1");
  EXPECT_EQ(t->port, "8080");
  EXPECT_EQ(t->base_path, "");
  auto v1 = ParseHttpUrl("http://localhost/v1/");
  ASSERT_TRUE(v1.ok());
  EXPECT_EQ(v1->port, "80");
  EXPECT_EQ(v1->base_path, "");  // endpoints add /v1 themselves
  auto v6 = ParseHttpUrl("http://[::1]:9000/prefix");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->base_path, "/prefix");
  EXPECT_EQ(v6->HostHeader(), "[::1]:9000");
  auto https = ParseHttpUrl("https://api.example.com");
  ASSERT_FALSE(https.ok());
  EXPECT_NE(https.status().message().find("https"), std::string::npos);
  EXPECT_FALSE(ParseHttpUrl("127.0.0.1:8080").ok());
  EXPECT_FALSE(ParseHttpUrl("http://host:99999").ok());
}

}  // namespace
}  // namespace fpgaserve
