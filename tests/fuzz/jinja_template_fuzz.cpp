// The chat-template interpreter: JinjaTemplate::Parse on the input as template source, then Render with a
// fixed conversation (user data) and the trusted variables a chat template sees. The limits are lower than
// the server's so that one input costs milliseconds; a run that still takes seconds (-timeout=2) is a loop
// the step limit does not bound, which is a finding.
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "server/api/jinja_template.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fpgaserve;
  JinjaOptions limits;
  limits.max_output_bytes = 64 * 1024;
  limits.max_items = 10000;
  limits.max_steps = 100000;
  Result<JinjaTemplate> t = JinjaTemplate::Parse(fuzz::AsText(data, size), limits);
  if (!t.ok()) return 0;
  static const JinjaRenderInput input = [] {
    JinjaRenderInput in;
    in.user_variables = {{"messages",
                          {{{"role", "system"}, {"content", "Be brief."}},
                           {{"role", "user"}, {"content", "Hi <s> {{ x }}"}},
                           {{"role", "assistant"}, {"content", " ok\n"}},
                           {{"role", "user"}, {"content", {{{"type", "text"}, {"text", "part"}}}}}}},
                         {"tools", nlohmann::ordered_json::array(
                                       {{{"name", "f"}, {"parameters", {{"a", 1}, {"b", {true, nullptr, 2.5}}}}}})},
                         {"add_generation_prompt", true},
                         {"n", 3}};
    in.trusted_variables = {{"bos_token", "<s>"}, {"eos_token", "</s>"}};
    in.now_unix_seconds = 1700000000;
    return in;
  }();
  Result<jinja::TaintedText> out = t.value().Render(input);
  if (out.ok()) FUZZ_CHECK(out.value().text.size() <= limits.max_output_bytes);
  return 0;
}
