// CompletionRunner: one OpenAI completion request in flight — its sequences' streams, read and turned into
// either one JSON response (Collect) or SSE chunks (StreamTo).
//
// Life: Submit() once; then exactly one of Collect() or StreamTo(); CancelAll() at any time from any
// thread (client gone, server stopping). A runner that is destroyed with sequences still running cancels
// them, so an engine slot is never left to a request nobody reads.
//
// Streaming order (as OpenAI): for chat, a first chunk per choice with delta {role: "assistant",
// content: ""}; for completions with echo, a first chunk per choice with the prompt text; then one chunk
// per token that makes text visible (or per token when logprobs were asked for), the choices interleaved
// as their tokens arrive, each chunk naming its choice's index; per choice, a last chunk with an empty
// delta and its finish_reason; a usage chunk (choices: []) when stream_options.include_usage; then
// "data: [DONE]". An error after streaming began is sent as data: {"error": {...}} (the other choices are
// cancelled) and followed by [DONE]. While nothing was written for `keepalive` of the clock's time, a
// ": keep-alive" comment is written, which also reveals a client that went away.
//
// Waiting: every choice's Stream feeds one RequestEvents queue (stream.h); Collect and StreamTo wait on it
// once for the next event of any choice, or for the keep-alive time, and wake on nothing else. A stop
// request cancels the sequences at once (a std::stop_callback), and their final events end the wait.
//
// Threading: Collect / StreamTo run on the request's HTTP thread; CancelAll is thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "server/api/backend.h"
#include "server/api/openai_response.h"
#include "server/api/request_preparer.h"
#include "server/engine/stream.h"

namespace fpgaserve {

class CompletionRunner {
 public:
  // The runner keeps copies of the request data and shares the tokenizer. `clock` times the keep-alive
  // (nullptr: RealClock()); it must outlive the runner.
  CompletionRunner(ResponseMeta meta, OpenAiRequest request, PreparedRequest prepared,
                   std::shared_ptr<const Tokenizer> tokenizer, Clock* clock = nullptr);
  ~CompletionRunner();
  CompletionRunner(const CompletionRunner&) = delete;
  CompletionRunner& operator=(const CompletionRunner&) = delete;

  // Submits every sequence and attaches its Stream to the request's queue. On the first failure cancels
  // those already submitted and returns the error.
  Status Submit(Backend& backend);

  // Waits for every choice and builds the response JSON, or returns the first sequence error (the others
  // are then cancelled). When `stop` is requested (before or during the call) the sequences are cancelled
  // and their kCancelled error is returned.
  Result<nlohmann::json> Collect(std::stop_token stop);

  // Writes the SSE stream with `write` (returns false when the client is gone: the sequences are then
  // cancelled and StreamTo returns false at once). Returns true when [DONE] was written. `stop` as for
  // Collect: the cancellation error is streamed, then [DONE].
  bool StreamTo(const std::function<bool(std::string_view)>& write, std::chrono::milliseconds keepalive,
                std::stop_token stop);

  // Cancels every sequence that has not ended. Safe from any thread once Submit has returned.
  void CancelAll();

  // For the request log and metrics: tokens so far, and the first error seen (OK if none).
  Usage usage() const;
  const Status& error() const { return error_; }
  const ResponseMeta& meta() const { return meta_; }

 private:
  struct Choice {
    std::shared_ptr<Stream> stream;
    int32_t prev_token = 0;           // for the piece text of the next token
    std::string text;                 // Collect: the whole text (echo included)
    size_t text_bytes = 0;            // text_offset of the next token
    std::vector<TokenReport> tokens;  // Collect: every token; StreamTo: the current chunk's
    FinishReason finish_reason = FinishReason::kStop;
    int completion_tokens = 0;
  };

  // Applies a kToken event to `c`: appends its report (when logprobs are wanted) and advances offsets.
  void AddToken(Choice& c, const StreamEvent& event);
  bool wants_logprobs() const { return request_.sampling.logprobs || request_.sampling.top_logprobs > 0; }

  const ResponseMeta meta_;
  const OpenAiRequest request_;
  const PreparedRequest prepared_;
  const std::shared_ptr<const Tokenizer> tokenizer_;
  Clock* const clock_;
  // Every choice's events; shared with the streams, which may outlive the runner.
  const std::shared_ptr<RequestEvents> events_;
  // The streams are set by Submit and constant afterwards (CancelAll reads them from other threads); the
  // rest of a Choice is the consumer thread's.
  std::vector<Choice> choices_;
  Status error_;
};

}  // namespace fpgaserve
