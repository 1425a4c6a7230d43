#include "server/model/hf_tokenizer.h"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/byte_level_vocabulary.h"
#include "support/test_support.h"

namespace fpgaserve {
namespace {

using nlohmann::json;
using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr const char* kLlama3Regex =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

// The test vocabulary as Hugging Face writes it: normal tokens in model.vocab, the specials as added tokens.
json SmallTokenizerJson() {
  const GgufVocabulary v = testing::SmallByteLevelVocabulary();
  json vocab = json::object();
  json added = json::array();
  for (size_t id = 0; id < v.tokens.size(); ++id) {
    if (v.token_types[id] == 1) {
      vocab[v.tokens[id]] = id;
    } else {
      added.push_back({{"id", id}, {"content", v.tokens[id]}, {"special", v.token_types[id] == 3}});
    }
  }
  return {{"normalizer", nullptr},
          {"pre_tokenizer",
           {{"type", "Sequence"},
            {"pretokenizers",
             {{{"type", "Split"}, {"pattern", {{"Regex", kLlama3Regex}}}, {"behavior", "Isolated"}, {"invert", false}},
              {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}}},
          {"added_tokens", added},
          {"model", {{"type", "BPE"}, {"ignore_merges", true}, {"vocab", vocab}, {"merges", v.merges}}}};
}

TEST(HfTokenizerTest, ALlama3StyleTokenizerJsonBecomesTheGgufVocabulary) {
  testing::TempDir dir;
  ASSERT_TRUE(testing::WriteFile(dir.file("tokenizer.json"), SmallTokenizerJson().dump()));
  ASSERT_TRUE(testing::WriteFile(dir.file("tokenizer_config.json"),
                                 R"({"bos_token": "<|begin_of_text|>", "eos_token": {"content": "<|end_of_text|>"},
                                     "chat_template": "{{ bos_token }}"})"));
  auto v = ReadHfTokenizer(dir.file("tokenizer.json"), dir.file("tokenizer_config.json"));
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  const GgufVocabulary want = testing::SmallByteLevelVocabulary();
  EXPECT_EQ(v->pre, "llama-bpe");
  EXPECT_EQ(v->tokens, want.tokens);
  EXPECT_EQ(v->token_types, want.token_types);
  EXPECT_EQ(v->merges, want.merges);
  EXPECT_EQ(v->bos, want.bos);
  EXPECT_EQ(v->eos, want.eos);
  EXPECT_EQ(v->eot, want.eot);  // <|eot_id|>, found by its spelling
  EXPECT_TRUE(v->add_bos);      // llama-bpe's default
  EXPECT_EQ(v->chat_template, "{{ bos_token }}");
}

TEST(HfTokenizerTest, DefectsAreRefusedNamingTheFile) {
  struct Case {
    const char* message;
    void (*edit)(json&);
  } cases[] = {
      {"model.type must be \"BPE\"", [](json& t) { t["model"]["type"] = "Unigram"; }},
      {"is not one fpgaserve knows",
       [](json& t) {
         t["pre_tokenizer"] = {{"type", "Whitespace"}};
       }},
      {"model.ignore_merges is false but the llama-bpe pre-tokenizer implies true",
       [](json& t) { t["model"]["ignore_merges"] = false; }},
      {"it has a normalizer",
       [](json& t) {
         t["normalizer"] = {{"type", "NFC"}};
       }},
      {"token ids must be 0..n-1 without holes", [](json& t) { t["added_tokens"][0]["id"] = 100000; }},
      {"merge 0 is neither", [](json& t) { t["model"]["merges"][0] = 7; }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.message);
    testing::TempDir dir;
    json t = SmallTokenizerJson();
    c.edit(t);
    ASSERT_TRUE(testing::WriteFile(dir.file("tokenizer.json"), t.dump()));
    auto v = ReadHfTokenizer(dir.file("tokenizer.json"), "");
    ASSERT_FALSE(v.ok());
    EXPECT_THAT(v.status().message(), AllOf(HasSubstr(dir.file("tokenizer.json")), HasSubstr(c.message)));
  }
  testing::TempDir dir;
  ASSERT_TRUE(testing::WriteFile(dir.file("tokenizer.json"), SmallTokenizerJson().dump()));
  ASSERT_TRUE(testing::WriteFile(dir.file("tokenizer_config.json"), R"({"eos_token": "<|nope|>"})"));
  auto v = ReadHfTokenizer(dir.file("tokenizer.json"), dir.file("tokenizer_config.json"));
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(v.status().message(), HasSubstr("the EOS token \"<|nope|>\" is not in the vocabulary"));
}

}  // namespace
}  // namespace fpgaserve
