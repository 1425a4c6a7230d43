// Log lines with fields, in the two formats of --log-format:
//   text  "request done id=cmpl-1 status=200 latency_ms=12.5": the message, then key=value fields (logfmt);
//         a string value that is empty or holds a space, '"', '=' or a control character is written in
//         double quotes with '"', '\\' and control characters escaped as JSON escapes them
//         (reason="no card or host sensor"), so every field can be parsed back.
//   json  a JSON object per line: spdlog's pattern writes {"time":..,"level":.., then this function's
//         fragment "msg":"request done","id":"cmpl-1",...} (see ConfigureLogging).
// Every line the daemon logs goes through LogLine (spdlog::info(LogLine("ready", {...}))), never a plain
// formatted sentence, so that --log-format json writes only JSON lines. Messages are short fixed phrases;
// what varies goes into fields.
// Thread-safe (spdlog's default logger is).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace fpgaserve {

enum class LogFormat { kText, kJson };

// Sets spdlog's default logger pattern and level for `format` ("info", "debug", ...). Call once at start.
void ConfigureLogging(LogFormat format, const std::string& level);

// The message with its fields in the configured format.
std::string LogLine(const std::string& message, const nlohmann::json& fields);

}  // namespace fpgaserve
