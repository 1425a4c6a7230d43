// The real `fpgaserve serve` over real HTTP: every endpoint, every error code, concurrency, disconnects,
// queue overflow and draining. Each suite starts its own server (loopback, free port) and stops it.
#include <atomic>
#include <future>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "serve_process.h"
#include "server/model/gguf_writer.h"
#include "server/model/random_model.h"

namespace fpgaserve {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

const httplib::Headers kAuth = {{"Authorization", "Bearer key-1"}};

json Body(const httplib::Result& r) { return r ? json::parse(r->body, nullptr, false) : json(); }

// The text and finish reasons of a streamed completion, and whether it ended with [DONE].
struct Streamed {
  int status = 0;
  std::string text;
  std::string finish;
  bool done = false;
  json usage;
};

Streamed Stream(httplib::Client& client, const std::string& path, const json& body) {
  Streamed out;
  std::string buffer;
  auto res = client.Post(path, kAuth, body.dump(), "application/json");
  if (!res) {
    out.text = "client error: " + httplib::to_string(res.error());
    return out;
  }
  out.status = res->status;
  size_t start = 0;
  const std::string& sse = res->body;
  while (true) {
    const size_t end = sse.find("\n\n", start);
    if (end == std::string::npos) break;
    const std::string event = sse.substr(start, end - start);
    start = end + 2;
    if (event.rfind("data: ", 0) != 0) continue;
    if (event == "data: [DONE]") {
      out.done = true;
      continue;
    }
    const json chunk = json::parse(event.substr(6));
    if (chunk.contains("usage") && !chunk["usage"].is_null()) out.usage = chunk["usage"];
    for (const json& c : chunk["choices"]) {
      if (c.contains("text")) out.text += c["text"].get<std::string>();
      if (c.contains("delta") && c["delta"].contains("content")) out.text += c["delta"]["content"].get<std::string>();
      if (!c["finish_reason"].is_null()) out.finish = c["finish_reason"];
    }
  }
  return out;
}

// A metric's value summed over its series whose labels contain `label_filter`.
double Metric(const std::string& text, const std::string& name, const std::string& label_filter = "") {
  double sum = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(start, end - start);
    start = end + 1;
    if (line.rfind(name, 0) != 0 || line.size() <= name.size()) continue;
    const char next = line[name.size()];
    if (next != '{' && next != ' ') continue;  // another metric whose name starts like this one
    const size_t space = line.rfind(' ');
    const std::string labels = line.substr(name.size(), space - name.size());
    if (label_filter.empty() || labels.find(label_filter) != std::string::npos)
      sum += std::stod(line.substr(space + 1));
  }
  return sum;
}

class ServeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new testing::ServeProcess({"--device", "sim:2", "--kv-slots", "4", "--api-keys", "key-1,key-2",
                                         "--max-body-bytes", "4096", "--cors-origins", "http://ui.example",
                                         "--sim-threads", "1", "--default-max-tokens", "16"});
  }
  static void TearDownTestSuite() {
    if (server_ != nullptr && server_->ok()) {
      server_->Signal(SIGTERM);
      // Exit 0 also means no sanitizer report in the server (sanitizer builds abort on errors).
      const int code = server_->WaitExit(milliseconds(20000));
      if (code != 0) ADD_FAILURE() << "fpgaserve exited with " << code << "\n" << server_->log();
    }
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(server_->ok()) << server_->log(); }
  static testing::ServeProcess* server_;
};
testing::ServeProcess* ServeTest::server_ = nullptr;

TEST_F(ServeTest, HealthModelsMetricsTokenize) {
  auto c = server_->Client();
  auto health = c.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(Body(health)["status"], "ok");
  EXPECT_EQ(Body(health)["cards"].size(), 2u);
  auto models = c.Get("/v1/models", kAuth);
  ASSERT_TRUE(models);
  EXPECT_EQ(Body(models)["data"][0]["id"], "tiny");
  EXPECT_EQ(c.Get("/v1/models/tiny", kAuth)->status, 200);
  EXPECT_EQ(Body(c.Get("/v1/models/other", kAuth))["error"]["code"], "model_not_found");
  auto metrics = c.Get("/metrics");  // open without a key
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_NE(metrics->body.find("fpgaserve_card_kv_slots_total"), std::string::npos);
  EXPECT_NE(metrics->body.find("fpgaserve_http_requests_total"), std::string::npos);
  auto tok = c.Post("/tokenize", kAuth, R"({"content":"the cat","add_special":true})", "application/json");
  ASSERT_TRUE(tok);
  const json tokens = Body(tok)["tokens"];
  EXPECT_EQ(tokens[0], 1);
  auto detok = c.Post("/detokenize", kAuth, json{{"tokens", tokens}}.dump(), "application/json");
  EXPECT_EQ(Body(detok)["content"], "the cat");
}

TEST_F(ServeTest, EveryErrorHasTheOpenAiShape) {
  auto c = server_->Client();
  auto expect = [](const httplib::Result& r, int status, const std::string& code_or_param) {
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, status) << r->body;
    const json e = Body(r)["error"];
    ASSERT_TRUE(e.is_object()) << r->body;
    EXPECT_TRUE(e.contains("message") && e.contains("type") && e.contains("param") && e.contains("code"));
    if (!code_or_param.empty()) {
      EXPECT_TRUE(e["code"] == code_or_param || e["param"] == code_or_param) << r->body;
    }
  };
  expect(c.Post("/v1/completions", kAuth, "{bad json", "application/json"), 400, "");
  expect(c.Post("/v1/completions", kAuth, R"({"model":"tiny","prompt":"a","temperature":9})", "application/json"), 400,
         "temperature");
  expect(c.Post("/v1/completions", kAuth, R"({"model":"tiny","prompt":"a","max_tokens":500})", "application/json"), 400,
         "max_tokens");
  expect(c.Post("/v1/completions", R"({"prompt":"a"})", "application/json"), 401, "invalid_api_key");
  expect(c.Post("/v1/completions", {{"Authorization", "Bearer wrong"}}, R"({"prompt":"a"})", "application/json"), 401,
         "invalid_api_key");
  expect(c.Post("/v1/completions", kAuth, R"({"model":"gpt-4","prompt":"a"})", "application/json"), 404,
         "model_not_found");
  expect(c.Get("/v1/nothing", kAuth), 404, "not_found");
  expect(c.Get("/v1/completions", kAuth), 405, "method_not_allowed");
  expect(c.Post("/v1/completions", kAuth, std::string(8000, ' '), "application/json"), 413, "request_too_large");
  // CORS preflight from an allowed origin; a disallowed origin gets no CORS headers.
  auto pre = c.Options("/v1/completions", {{"Origin", "http://ui.example"}, {"Access-Control-Request-Method", "POST"}});
  ASSERT_TRUE(pre);
  EXPECT_EQ(pre->status, 204);
  EXPECT_EQ(pre->get_header_value("Access-Control-Allow-Origin"), "http://ui.example");
  auto other = c.Get("/health", {{"Origin", "http://evil.example"}});
  EXPECT_FALSE(other->has_header("Access-Control-Allow-Origin"));
}

TEST_F(ServeTest, CompletionsAndChatNonStreamed) {
  auto c = server_->Client();
  auto r = c.Post("/v1/completions", kAuth,
                  R"({"model":"tiny","prompt":"the","max_tokens":5,"n":2,"seed":1,"echo":true})", "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json j = Body(r);
  EXPECT_EQ(j["object"], "text_completion");
  EXPECT_EQ(j["id"].get<std::string>().rfind("cmpl-", 0), 0u);
  ASSERT_EQ(j["choices"].size(), 2u);
  EXPECT_EQ(j["choices"][0]["text"].get<std::string>().rfind("the", 0), 0u);
  EXPECT_LE(j["usage"]["completion_tokens"].get<int>(), 10);
  EXPECT_EQ(j["usage"]["total_tokens"],
            j["usage"]["prompt_tokens"].get<int>() + j["usage"]["completion_tokens"].get<int>());

  auto chat = c.Post("/v1/chat/completions", kAuth,
                     R"({"model":"tiny","messages":[{"role":"system","content":"s"},{"role":"user","content":"hi"}],
                         "max_tokens":4,"temperature":0,"logprobs":true,"top_logprobs":2})",
                     "application/json");
  ASSERT_TRUE(chat);
  ASSERT_EQ(chat->status, 200) << chat->body;
  const json cj = Body(chat);
  EXPECT_EQ(cj["object"], "chat.completion");
  EXPECT_EQ(cj["choices"][0]["message"]["role"], "assistant");
  EXPECT_FALSE(cj["choices"][0]["logprobs"]["content"].empty());
  EXPECT_EQ(cj["choices"][0]["logprobs"]["content"][0]["top_logprobs"].size(), 2u);
}

// Greedy decoding ignores the seed, so use temperature 1 with fixed seeds: batching must not change outputs.
TEST_F(ServeTest, SixtyFourConcurrentStreamsEqualTheSameRequestsOneAtATime) {
  auto request = [](int i) {
    return json{{"model", "tiny"},  {"prompt", "the story " + std::to_string(i % 5)},
                {"max_tokens", 12}, {"seed", 1000 + i},
                {"stream", true},   {"ignore_eos", true}};
  };
  std::vector<std::string> sequential(64);
  for (int i = 0; i < 64; ++i) {
    auto c = server_->Client();
    const Streamed s = Stream(c, "/v1/completions", request(i));
    ASSERT_EQ(s.status, 200);
    ASSERT_TRUE(s.done);
    sequential[i] = s.text;
  }
  std::vector<std::future<Streamed>> futures;
  for (int i = 0; i < 64; ++i) {
    futures.push_back(std::async(std::launch::async, [i, &request] {
      auto c = server_->Client();
      return Stream(c, "/v1/completions", request(i));
    }));
  }
  for (int i = 0; i < 64; ++i) {
    const Streamed s = futures[i].get();
    EXPECT_EQ(s.status, 200);
    EXPECT_TRUE(s.done);
    EXPECT_EQ(s.finish, "length");
    EXPECT_EQ(s.text, sequential[i]) << "request " << i;
    if (!s.done) ADD_FAILURE() << server_->log();
  }
}

TEST_F(ServeTest, ChatStreamWithUsageChunk) {
  auto c = server_->Client();
  const Streamed s = Stream(c, "/v1/chat/completions",
                            {{"model", "tiny"},
                             {"messages", {{{"role", "user"}, {"content", "hi"}}}},
                             {"max_tokens", 6},
                             {"stream", true},
                             {"stream_options", {{"include_usage", true}}},
                             {"n", 2}});
  EXPECT_EQ(s.status, 200);
  EXPECT_TRUE(s.done);
  ASSERT_TRUE(s.usage.is_object());
  EXPECT_GT(s.usage["prompt_tokens"].get<int>(), 0);
}

TEST_F(ServeTest, ClientsThatDisconnectMidStreamFreeTheirSlots) {
  auto metrics_text = [&] { return server_->Client().Get("/metrics")->body; };
  const double cancelled_before = Metric(metrics_text(), "fpgaserve_request_failure_total", "cancelled");
  std::vector<std::thread> clients;
  for (int i = 0; i < 6; ++i) {
    clients.emplace_back([i] {
      auto c = server_->Client();
      httplib::Request req;
      req.method = "POST";
      req.path = "/v1/completions";
      req.headers = kAuth;
      req.body = json{{"model", "tiny"}, {"prompt", "a"}, {"max_tokens", 120}, {"ignore_eos", true},
                      {"stream", true},  {"seed", i},     {"logprobs", 5}}
                     .dump();
      req.set_header("Content-Type", "application/json");
      int chunks = 0;
      req.content_receiver = [&](const char*, size_t, uint64_t, uint64_t) { return ++chunks < 2; };  // hang up
      c.send(req);
    });
  }
  for (std::thread& t : clients) t.join();
  double used = -1;
  for (int i = 0; i < 200; ++i) {  // bounded: 10 s
    used = Metric(metrics_text(), "fpgaserve_card_kv_slots_used");
    if (used == 0) break;
    std::this_thread::sleep_for(milliseconds(50));
  }
  EXPECT_EQ(used, 0);
  EXPECT_EQ(Metric(metrics_text(), "fpgaserve_num_requests_running"), 0);
  // Some of the six ended early because their client left (the others may have finished first).
  EXPECT_GE(Metric(metrics_text(), "fpgaserve_request_failure_total", "cancelled"), cancelled_before + 1);
}

// A server with one slot and a queue of one: a request for 8 choices cannot all be queued -> 429.
TEST(ServeLimitsTest, QueueOverflowIs429WithRetryAfter) {
  testing::ServeProcess server({"--device", "sim:1", "--kv-slots", "1", "--max-queue", "1", "--sim-threads", "1"});
  ASSERT_TRUE(server.ok()) << server.log();
  auto c = server.Client();
  auto r = c.Post("/v1/completions", R"({"prompt":"a","n":8,"max_tokens":100,"ignore_eos":true})", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 429) << r->body;
  EXPECT_EQ(r->get_header_value("Retry-After"), "1");
  EXPECT_EQ(Body(r)["error"]["code"], "rate_limit_exceeded");
  server.Signal(SIGTERM);
  EXPECT_EQ(server.WaitExit(milliseconds(10000)), 0);
}

// SIGTERM: the in-flight stream completes, new requests and /health get 503, the process exits 0.
TEST(ServeLimitsTest, SigtermDrainsThenExitsZero) {
  testing::ServeProcess server({"--device", "sim:1", "--kv-slots", "1", "--max-queue", "64", "--sim-threads", "1",
                                "--drain-timeout-s", "30", "--max-n", "64"});
  ASSERT_TRUE(server.ok()) << server.log();
  // 16 sequences through one slot keep the server busy for a while (~1600 one-token steps), yet finish well
  // within the drain timeout even under ThreadSanitizer (~4 ms a step there).
  auto streamed = std::async(std::launch::async, [&] {
    auto c = server.Client();
    std::string body =
        json{{"prompt", "a"}, {"n", 16}, {"max_tokens", 100}, {"ignore_eos", true}, {"stream", true}}.dump();
    auto r = c.Post("/v1/completions", body, "application/json");
    return r ? r->body : std::string();
  });
  // Wait until it runs, then signal. (Up to 30 s: on a loaded machine the request can take seconds to
  // arrive, and a signal before it would make it a 503 rather than a stream that drains.)
  bool running = false;
  for (int i = 0; i < 3000 && !running; ++i) {
    running = Body(server.Client().Get("/health"))["running"] == 1;
    if (!running) std::this_thread::sleep_for(milliseconds(10));
  }
  ASSERT_TRUE(running) << "the stream never started";
  server.Signal(SIGTERM);
  std::this_thread::sleep_for(milliseconds(100));
  auto health = server.Client().Get("/health");
  auto late = server.Client().Post("/v1/completions", R"({"prompt":"a","max_tokens":2})", "application/json");
  const std::string body = streamed.get();
  const int exit_code = server.WaitExit(milliseconds(20000));
  if (health && late) {  // the stream may have ended before the signal on a very fast machine
    EXPECT_EQ(health->status, 503);
    EXPECT_EQ(Body(health)["status"], "draining");
    EXPECT_EQ(late->status, 503);
    EXPECT_EQ(Body(late)["error"]["code"], "draining");
  }
  EXPECT_NE(body.find("data: [DONE]"), std::string::npos);
  EXPECT_EQ(body.find("\"error\""), std::string::npos);
  EXPECT_EQ(exit_code, 0) << server.log();
}

}  // namespace
}  // namespace fpgaserve

namespace fpgaserve {
namespace {

std::string TemplateFile(const std::string& name) {
  return testing::SourceDir() + "/tests/server/api/chat_templates/" + name;
}

// --chat-template-file: chat requests go through the Jinja template; one it rejects is a 400 on messages.
TEST(ServeChatTemplateTest, AJinjaTemplateFileRendersChatRequests) {
  testing::ServeProcess server({"--device", "sim:1", "--chat-template-file", TemplateFile("mistral.jinja")});
  ASSERT_TRUE(server.ok()) << server.log();
  EXPECT_NE(server.log().find("chat_template=jinja:"), std::string::npos) << server.log();
  auto c = server.Client();
  auto ok =
      c.Post("/v1/chat/completions",
             R"({"messages":[{"role":"system","content":"S"},{"role":"user","content":"hi </s>"}],"max_tokens":2})",
             "application/json");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;
  auto bad = c.Post("/v1/chat/completions",
                    R"({"messages":[{"role":"user","content":"a"},{"role":"user","content":"b"}],"max_tokens":2})",
                    "application/json");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400) << bad->body;
  EXPECT_EQ(Body(bad)["error"]["param"], "messages");
  EXPECT_NE(Body(bad)["error"]["message"].get<std::string>().find("roles must alternate"), std::string::npos);
  server.Signal(SIGTERM);
  EXPECT_EQ(server.WaitExit(std::chrono::milliseconds(10000)), 0);
}

// A GGUF is served with --model alone: its own vocabulary, its general.name as the model id and, as
// chat_template is auto, its own tokenizer.chat_template (here one that refuses every conversation, so a
// chat request shows which template rendered it); --chat-template llama2 overrides it.
TEST(ServeChatTemplateTest, AGgufServesWithItsOwnNameVocabularyAndChatTemplate) {
  testing::TempDir dir;
  const std::string path = dir.file("model.gguf");
  Result<ModelConfig> shape = NamedShape("tiny");
  ASSERT_TRUE(shape.ok());
  const RandomModel m = MakeRandomModel(shape.value(), 7);
  GgufModelOptions options;
  options.matrix_type = GgmlType::kQ8_0;
  GgufBuilder b = ModelToGguf(m.view, options);  // general.name "test model", a made-up vocabulary
  b.String("tokenizer.chat_template", "{{ raise_exception('the GGUF template rendered this') }}");
  ASSERT_TRUE(WriteGgufFile(b, path).ok());
  const std::string chat = R"({"messages":[{"role":"user","content":"hi"}],"max_tokens":2})";

  testing::ServeProcess own({"--model", path}, {"--device", "sim:1"});
  ASSERT_TRUE(own.ok()) << own.log();
  EXPECT_NE(own.log().find("chat_template=gguf:tokenizer.chat_template"), std::string::npos) << own.log();
  auto c = own.Client();
  auto models = c.Get("/v1/models");
  ASSERT_TRUE(models);
  EXPECT_EQ(Body(models)["data"][0]["id"], "test model") << models->body;
  EXPECT_EQ(Body(models)["data"][0]["max_model_len"], shape.value().seq_len) << models->body;
  auto refused = c.Post("/v1/chat/completions", chat, "application/json");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 400) << refused->body;
  EXPECT_NE(refused->body.find("the GGUF template rendered this"), std::string::npos) << refused->body;
  auto completion = c.Post("/v1/completions", R"({"model":"test model","prompt":"ab","max_tokens":2})",
                           "application/json");
  ASSERT_TRUE(completion);
  EXPECT_EQ(completion->status, 200) << completion->body;

  testing::ServeProcess overridden({"--model", path}, {"--device", "sim:1", "--chat-template", "llama2"});
  ASSERT_TRUE(overridden.ok()) << overridden.log();
  auto answered = overridden.Client().Post("/v1/chat/completions", chat, "application/json");
  ASSERT_TRUE(answered);
  EXPECT_EQ(answered->status, 200) << answered->body;
}

// A template the interpreter cannot handle stops the start-up with the place of the problem.
TEST(ServeChatTemplateTest, AnUnsupportedTemplateStopsTheStartUp) {
  testing::TempDir dir;
  const std::string path = dir.file("bad.jinja");
  testing::WriteFile(path, "{% for m in messages %}\n{% macro x() %}{% endmacro %}{% endfor %}");
  testing::ServeProcess server({"--device", "sim:1", "--chat-template-file", path});
  EXPECT_FALSE(server.ok());  // it exited (ServeProcess reaped it) before /health said ready
  EXPECT_NE(server.log().find("bad.jinja: chat template 2:4: the 'macro' tag is not supported"), std::string::npos)
      << server.log();
}

}  // namespace
}  // namespace fpgaserve
