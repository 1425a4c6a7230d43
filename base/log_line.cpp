#include "base/log_line.h"

#include <algorithm>
#include <atomic>

#include <spdlog/spdlog.h>

namespace fpgaserve {
namespace {

std::atomic<LogFormat> g_format{LogFormat::kText};  // set once at start-up, before any request thread

}  // namespace

void ConfigureLogging(LogFormat format, const std::string& level) {
  g_format = format;
  if (format == LogFormat::kJson) {
    spdlog::set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l",%v})");
  } else {
    spdlog::set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%l] %v");
  }
  spdlog::set_level(spdlog::level::from_str(level));
}

std::string LogLine(const std::string& message, const nlohmann::json& fields) {
  const auto replace = nlohmann::json::error_handler_t::replace;
  if (g_format == LogFormat::kJson) {
    std::string out = "\"msg\":";  // appended, not "literal" + string: GCC 12's false -Wrestrict
    out.append(nlohmann::json(message).dump(-1, ' ', false, replace));
    for (const auto& [key, value] : fields.items()) {
      out.append(",").append(nlohmann::json(key).dump()).append(":").append(value.dump(-1, ' ', false, replace));
    }
    return out;
  }
  std::string out = message;
  for (const auto& [key, value] : fields.items()) {
    out += " " + key + "=";
    if (!value.is_string()) {
      out += value.dump(-1, ' ', false, replace);
      continue;
    }
    const std::string& text = value.get_ref<const std::string&>();
    const bool plain = !text.empty() && std::none_of(text.begin(), text.end(), [](char ch) {
      return ch == ' ' || ch == '"' || ch == '=' || static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f;
    });
    out += plain ? text : value.dump(-1, ' ', false, replace);  // JSON's string quoting and escapes
  }
  return out;
}

}  // namespace fpgaserve
