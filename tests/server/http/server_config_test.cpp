#include "server/http/server_config.h"

#include <map>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/test_support.h"

namespace fpgaserve {
namespace {

EnvLookup MapEnv(std::map<std::string, std::string> env) {
  return [env](const std::string& name) -> std::optional<std::string> {
    auto it = env.find(name);
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
}

TEST(ServerConfigTest, DefaultsWithoutAnyLayer) {
  auto c = ResolveServerConfig({}, MapEnv({}));
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->port, 8080);
  EXPECT_EQ(c->host, "127.0.0.1");
  EXPECT_EQ(c->chat_template, "auto");
  EXPECT_TRUE(c->api_keys.empty());
}

TEST(ServerConfigTest, FlagBeatsEnvBeatsFileBeatsDefault) {
  testing::TempDir dir;
  const std::string file = dir.file("c.json");
  testing::WriteFile(file, R"({"_doc":"comment","port":1000,"max_queue":7,"kv_slots":3,"host":"0.0.0.0",
                               "api_keys":["f1","f2"]})");
  auto c = ResolveServerConfig({{"config", file}, {"port", "3000"}}, MapEnv({{"FPGASERVE_PORT", "2000"},
                                                                             {"FPGASERVE_MAX_QUEUE", "9"},
                                                                             {"FPGASERVE_API_KEYS", "e1, e2,"}}));
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->port, 3000);                                        // flag
  EXPECT_EQ(c->max_queue, 9);                                      // env over file
  EXPECT_EQ(c->kv_slots, 3);                                       // file over default
  EXPECT_EQ(c->host, "0.0.0.0");                                   // file
  EXPECT_EQ(c->api_keys, (std::vector<std::string>{"e1", "e2"}));  // env list, comma-separated, trimmed
  EXPECT_EQ(c->http_threads, 2);                                   // default
}

TEST(ServerConfigTest, ConfigFileFromEnvironment) {
  testing::TempDir dir;
  const std::string file = dir.file("c.json");
  testing::WriteFile(file, R"({"sse_keepalive_s":0.5,"cors_origins":"http://a, http://b"})");
  auto c = ResolveServerConfig({}, MapEnv({{"FPGASERVE_CONFIG", file}}));
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_DOUBLE_EQ(c->sse_keepalive_s, 0.5);
  EXPECT_EQ(c->cors_origins.size(), 2u);
}

TEST(ServerConfigTest, ErrorsNameTheSourceAndOption) {
  testing::TempDir dir;
  const std::string file = dir.file("c.json");
  auto bad_env = ResolveServerConfig({}, MapEnv({{"FPGASERVE_PORT", "eighty"}}));
  ASSERT_FALSE(bad_env.ok());
  EXPECT_NE(bad_env.status().message().find("FPGASERVE_PORT"), std::string::npos);
  auto bad_flag = ResolveServerConfig({{"max_queue", "1.5"}}, MapEnv({}));
  ASSERT_FALSE(bad_flag.ok());
  EXPECT_NE(bad_flag.status().message().find("--max-queue"), std::string::npos);

  testing::WriteFile(file, R"({"prot":1})");
  auto typo = ResolveServerConfig({{"config", file}}, MapEnv({}));
  ASSERT_FALSE(typo.ok());
  EXPECT_NE(typo.status().message().find("prot"), std::string::npos);
  testing::WriteFile(file, R"({"port":"80"})");
  EXPECT_FALSE(ResolveServerConfig({{"config", file}}, MapEnv({})).ok());
  testing::WriteFile(file, "{nope");
  EXPECT_FALSE(ResolveServerConfig({{"config", file}}, MapEnv({})).ok());
  auto missing = ResolveServerConfig({{"config", dir.file("absent.json")}}, MapEnv({}));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

TEST(ServerConfigTest, RangesAreValidated) {
  EXPECT_FALSE(ResolveServerConfig({{"port", "70000"}}, MapEnv({})).ok());
  EXPECT_FALSE(ResolveServerConfig({{"chat_template", "chatml"}}, MapEnv({})).ok());
  EXPECT_FALSE(ResolveServerConfig({{"log_format", "xml"}}, MapEnv({})).ok());
  EXPECT_FALSE(ResolveServerConfig({{"kv_slots", "0"}}, MapEnv({})).ok());
  EXPECT_TRUE(ResolveServerConfig({{"chat_template", "llama2"}}, MapEnv({})).ok());
}

TEST(ServerConfigTest, NamesAreDerivedFromTheKey) {
  for (const ConfigOption& o : ConfigOptions()) {
    if (o.key == "max_queue") {
      EXPECT_EQ(o.flag(), "--max-queue");
      EXPECT_EQ(o.env_var(), "FPGASERVE_MAX_QUEUE");
    }
  }
}

// The shipped config file is valid, sets every option to its default and documents each one.
TEST(ServerConfigTest, ShippedConfigFileDocumentsEveryOptionWithItsDefault) {
  const std::string path = testing::SourceDir() + "/config/fpgaserve.json";
  auto from_file = ResolveServerConfig({{"config", path}}, MapEnv({}));
  ASSERT_TRUE(from_file.ok()) << from_file.status().message();
  const nlohmann::json doc = nlohmann::json::parse(testing::ReadFile(path), nullptr, false);
  ASSERT_TRUE(doc.is_object());
  const ServerConfig defaults;
  for (const ConfigOption& o : ConfigOptions()) {
    const std::string key(o.key);
    EXPECT_TRUE(doc.contains(key)) << key << " is missing from config/fpgaserve.json";
    EXPECT_TRUE(doc.contains("_doc") && doc["_doc"].contains(key)) << key << " has no _doc entry";
    EXPECT_EQ(ConfigValueText(from_file.value(), o), ConfigValueText(defaults, o)) << key;
  }
}

}  // namespace
}  // namespace fpgaserve
