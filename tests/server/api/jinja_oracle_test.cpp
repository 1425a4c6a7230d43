// Our Jinja interpreter against Python's jinja2 (the renderer chat templates are written for): every
// template of chat_templates/ with every conversation of chat_templates/conversations.json, byte for byte.
// jinja_oracle.py renders the same pairs with jinja2 set up as Hugging Face sets it up.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "server/api/jinja_chat.h"
#include "server/api/jinja_template.h"

namespace fpgaserve {
namespace {

using json = nlohmann::ordered_json;

constexpr int64_t kNow = 1764400000;  // 2025-11-29, what strftime_now() formats in both renderers

std::string Dir() { return std::string(FPGASERVE_SOURCE_DIR) + "/tests/server/api/chat_templates"; }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

json LoadJson(const std::string& name) { return json::parse(ReadFile(Dir() + "/" + name)); }

// Debian's python3 has python3-jinja2 (deploy/install-deps.sh); another python3 on PATH may not.
std::string Python() { return std::filesystem::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3"; }

// The JSON a command prints, or a discarded value when it fails (Python or jinja2 missing).
json RunCommand(const std::string& cmd) {
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return json();
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  if (pclose(pipe) != 0) return json();
  return json::parse(out, nullptr, false);
}

json RunOracle() {
  return RunCommand(Python() + " " + FPGASERVE_SOURCE_DIR + "/tests/server/api/jinja_oracle.py " + Dir() + " " +
                    std::to_string(kNow));
}

std::vector<SpecialToken> Specials(const json& spec) {
  std::vector<SpecialToken> out;
  for (const auto& [text, id] : spec["special_tokens"].items()) out.push_back({text, id.get<int>()});
  return out;
}

Result<jinja::TaintedText> Render(const JinjaTemplate& t, const json& spec, const json& variables) {
  JinjaRenderInput input;
  input.user_variables = variables;
  input.trusted_variables = {{"bos_token", spec["bos_token"]}, {"eos_token", spec["eos_token"]}};
  input.now_unix_seconds = kNow;
  return t.Render(input);
}

int CountTokens(const std::vector<PromptPiece>& pieces) {
  int n = 0;
  for (const PromptPiece& p : pieces) n += p.token >= 0 ? 1 : 0;
  return n;
}

class JinjaOracleTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { oracle_ = new json(RunOracle()); }
  static void TearDownTestSuite() { delete oracle_; }
  static json* oracle_;
};
json* JinjaOracleTest::oracle_ = nullptr;

TEST_F(JinjaOracleTest, EveryTemplateAndConversationRendersAsJinja2Does) {
  ASSERT_TRUE(oracle_->is_object()) << "jinja_oracle.py failed: is python3-jinja2 installed? "
                                       "(deploy/install-deps.sh build)";
  const json templates = LoadJson("templates.json");
  const json conversations = LoadJson("conversations.json");
  int compared = 0;
  for (const auto& [name, spec] : templates.items()) {
    if (name[0] == '_') continue;
    Result<JinjaTemplate> t = JinjaTemplate::Parse(ReadFile(Dir() + "/" + spec["file"].get<std::string>()));
    ASSERT_TRUE(t.ok()) << name << ": " << t.status().message();
    for (const auto& [cname, variables] : conversations.items()) {
      if (cname[0] == '_') continue;
      SCOPED_TRACE(name + " / " + cname);
      const json& want = (*oracle_)[name][cname];
      Result<jinja::TaintedText> got = Render(t.value(), spec, variables);
      if (want["ok"].get<bool>()) {
        ASSERT_TRUE(got.ok()) << got.status().message();
        EXPECT_EQ(got.value().text, want["text"].get<std::string>());
      } else {
        ASSERT_FALSE(got.ok()) << "jinja2 failed with: " << want["error"] << "; we rendered:\n" << got.value().text;
        if (want["raised"].get<bool>()) {
          EXPECT_EQ(got.status().message(), want["error"].get<std::string>());
        }
      }
      compared++;
    }
  }
  EXPECT_GE(compared, 10 * 20);
}

// Random templates from jinja_fuzz_oracle.py (fixed seeds: the same templates every run) render as jinja2
// renders them, or fail where jinja2 fails.
TEST(JinjaFuzzOracleTest, RandomTemplatesRenderAsJinja2Does) {
  for (int seed : {1, 2, 3}) {
    const std::string cmd = Python() + " " + FPGASERVE_SOURCE_DIR + "/tests/server/api/jinja_fuzz_oracle.py " +
                            std::to_string(seed) + " 400";
    const json oracle = RunCommand(cmd);
    ASSERT_TRUE(oracle.is_object()) << "jinja_fuzz_oracle.py failed: is python3-jinja2 installed?";
    int mismatches = 0;
    for (const json& c : oracle["cases"]) {
      const std::string source = c["source"];
      Result<JinjaTemplate> t = JinjaTemplate::Parse(source);
      Result<jinja::TaintedText> got = Status::InvalidArgument("not parsed");
      if (t.ok()) {
        JinjaRenderInput input;
        input.user_variables = oracle["variables"];
        got = t.value().Render(input);
      }
      const bool same = c["ok"].get<bool>() ? got.ok() && got.value().text == c["text"].get<std::string>() : !got.ok();
      if (!same && ++mismatches <= 5) {
        ADD_FAILURE() << "seed " << seed << ": " << json(source).dump()
                      << "\n jinja2: " << (c["ok"].get<bool>() ? json(c["text"]).dump() : "an error")
                      << "\n ours:   " << (got.ok() ? json(got.value().text).dump() : got.status().message());
      }
    }
    EXPECT_EQ(mismatches, 0) << "seed " << seed;
  }
}

// The special-token spellings typed in messages stay text: the conversation yields as many special tokens
// as the same conversation with harmless contents.
TEST_F(JinjaOracleTest, SpecialTokenSpellingsInMessagesNeverBecomeTokens) {
  const json templates = LoadJson("templates.json");
  const json conversations = LoadJson("conversations.json");
  for (const char* cname :
       {"special_tokens_in_content", "special_tokens_from_the_user_only", "template_syntax_in_content"}) {
    json hostile = conversations[cname];
    json harmless = hostile;
    for (json& m : harmless["messages"]) m["content"] = "x";
    for (const auto& [name, spec] : templates.items()) {
      if (name[0] == '_') continue;
      SCOPED_TRACE(name + " / " + cname);
      Result<JinjaTemplate> t = JinjaTemplate::Parse(ReadFile(Dir() + "/" + spec["file"].get<std::string>()));
      ASSERT_TRUE(t.ok());
      Result<jinja::TaintedText> a = Render(t.value(), spec, hostile);
      Result<jinja::TaintedText> b = Render(t.value(), spec, harmless);
      ASSERT_EQ(a.ok(), b.ok());  // a template may reject the conversation's roles (gemma: no system role)
      if (!a.ok()) continue;
      const std::vector<PromptPiece> pa = SplitSpecialTokens(a.value(), Specials(spec));
      const std::vector<PromptPiece> pb = SplitSpecialTokens(b.value(), Specials(spec));
      EXPECT_EQ(CountTokens(pa), CountTokens(pb));
      EXPECT_EQ(PromptPiecesText(pa), a.value().text);  // nothing lost or added
    }
  }
}

}  // namespace
}  // namespace fpgaserve
