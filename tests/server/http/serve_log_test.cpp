// The daemon's log, through start-up, a request and SIGTERM, in both formats: with --log-format json every
// line is a JSON object with time, level and msg; by default every line is "[time] [level] message key=value..."
// whose fields parse back (logfmt quoting). So a log shipper can read every line the server writes.
#include <chrono>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/log_line.h"
#include "serve_process.h"

namespace fpgaserve {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Runs the tiny model's server with `log_format`: start, one completion, SIGTERM; returns its log.
std::string ServeOnceAndStop(const std::string& log_format) {
  testing::ServeProcess server({"--device", "sim:1", "--log-format", log_format});
  EXPECT_TRUE(server.ok()) << server.log();
  if (!server.ok()) return server.log();
  auto r = server.Client().Post("/v1/completions", R"({"prompt":"a b","max_tokens":3})", "application/json");
  EXPECT_TRUE(r && r->status == 200);
  server.Signal(SIGTERM);
  EXPECT_EQ(server.WaitExit(milliseconds(20000)), 0) << server.log();
  return server.log();
}

// A text line: "[date time] [level] message key=value key=\"quoted value\"...". Returns false when the line
// does not have that shape; else the message and fields.
bool ParseTextLine(const std::string& line, std::string* level, std::string* message,
                   std::map<std::string, std::string>* fields) {
  if (line.empty() || line[0] != '[') return false;
  size_t at = line.find("] [");
  if (at == std::string::npos) return false;
  const size_t level_end = line.find("] ", at + 3);
  if (level_end == std::string::npos) return false;
  *level = line.substr(at + 3, level_end - at - 3);
  const std::string rest = line.substr(level_end + 2);
  // The message ends where the first " key=" begins.
  auto is_key_char = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; };
  size_t fields_at = rest.size();
  for (size_t i = 0; i < rest.size(); ++i) {
    if (rest[i] != ' ') continue;
    size_t j = i + 1;
    while (j < rest.size() && is_key_char(rest[j])) ++j;
    if (j > i + 1 && j < rest.size() && rest[j] == '=') {
      fields_at = i;
      break;
    }
  }
  *message = rest.substr(0, fields_at);
  if (message->empty()) return false;
  size_t i = fields_at;
  while (i < rest.size()) {
    if (rest[i] != ' ') return false;
    const size_t eq = rest.find('=', i + 1);
    if (eq == std::string::npos) return false;
    const std::string key = rest.substr(i + 1, eq - i - 1);
    for (char c : key) {
      if (!is_key_char(c)) return false;
    }
    size_t end = eq + 1;
    std::string value;
    if (end < rest.size() && rest[end] == '"') {  // a JSON string
      ++end;
      while (end < rest.size() && rest[end] != '"') end += rest[end] == '\\' ? 2 : 1;
      if (end >= rest.size()) return false;
      const json parsed = json::parse(rest.substr(eq + 1, end - eq), nullptr, false);
      if (!parsed.is_string()) return false;
      value = parsed.get<std::string>();
      ++end;
    } else {
      while (end < rest.size() && rest[end] != ' ') {
        if (rest[end] == '"') return false;
        ++end;
      }
      value = rest.substr(eq + 1, end - eq - 1);
      if (value.empty()) return false;
    }
    (*fields)[key] = value;
    i = end;
  }
  return true;
}

TEST(ServeLogTest, JsonLogIsOneJsonObjectPerLineFromStartToStop) {
  const std::string log = ServeOnceAndStop("json");
  std::vector<std::string> messages;
  for (const std::string& line : Lines(log)) {
    const json j = json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << "not JSON: " << line << "\n" << log;
    ASSERT_TRUE(j.is_object()) << line;
    EXPECT_TRUE(j.contains("time") && j.contains("level") && j.contains("msg")) << line;
    messages.push_back(j.value("msg", ""));
  }
  for (const char* expected : {"listening", "model", "card", "ready", "request", "draining", "stopped"}) {
    EXPECT_NE(std::find(messages.begin(), messages.end(), expected), messages.end()) << expected << "\n" << log;
  }
}

TEST(ServeLogTest, TextLogIsMessageAndKeyValueFieldsOnEveryLine) {
  const std::string log = ServeOnceAndStop("text");
  bool saw_request = false;
  for (const std::string& line : Lines(log)) {
    std::string level, message;
    std::map<std::string, std::string> fields;
    ASSERT_TRUE(ParseTextLine(line, &level, &message, &fields)) << "not a key=value line: " << line << "\n" << log;
    if (message == "request" && fields["path"] == "/v1/completions") {
      saw_request = true;
      EXPECT_EQ(fields["status"], "200") << line;
    }
    if (message == "energy sampling off") {
      EXPECT_FALSE(fields["reason"].empty()) << line;
    }
  }
  EXPECT_TRUE(saw_request) << log;
}

TEST(LogLineTest, TextValuesWithSpacesQuotesOrEqualsAreQuotedAndParseBack) {
  std::string level, message;
  std::map<std::string, std::string> fields;
  const std::string line = "[2026-01-01 00:00:00.000] [info] " +
                           LogLine("card failed",
                                   {{"card", "sim0"}, {"reason", "a step said \"no\" = bad"}, {"empty", ""}, {"n", 3}});
  ASSERT_TRUE(ParseTextLine(line, &level, &message, &fields)) << line;
  EXPECT_EQ(message, "card failed");
  EXPECT_EQ(fields["card"], "sim0");
  EXPECT_EQ(fields["reason"], "a step said \"no\" = bad");
  EXPECT_EQ(fields["empty"], "");
  EXPECT_EQ(fields["n"], "3");
}

}  // namespace
}  // namespace fpgaserve
