// CompletionRunner: one OpenAI completion request in flight — its sequences' streams, read and turned into
// either one JSON response (PollCollect / Collect) or SSE bytes (PullSse / StreamTo).
//
// Life: Submit() once; then one way of reading: PollCollect() or Collect() for a JSON response, PullSse() or
// StreamTo() for a stream; CancelAll() at any time from any thread (client gone, server stopping). A runner
// that is destroyed with sequences still running cancels them, so an engine slot is never left to a request
// nobody reads.
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
// Two ways to read, one core: the non-blocking PullSse / PollCollect take the events queued now (an
// event-driven transport calls them on its connection's strand when SetWake's function has woken it, or at
// PullSse's keep-alive time), and the blocking StreamTo / Collect are loops over the same core that wait for
// each event in between. Both produce the same bytes and the same JSON.
//
// Waiting (the blocking adapters): every choice's Stream feeds one RequestEvents queue (stream.h); Collect
// and StreamTo wait on it once for the next event of any choice, or for the keep-alive time, and wake on
// nothing else. A stop request cancels the sequences at once (a std::stop_callback), and their final events
// end the wait. The non-blocking reader cancels with CancelAll (e.g. from its own stop callback): the
// sequences' cancellation errors then arrive as events like any other (streamed, then [DONE]).
//
// Threading: the reading calls (PullSse, PollCollect, StreamTo, Collect) on one thread at a time (the request's
// HTTP thread or its connection's strand); CancelAll and SetWake from any thread (SetWake: see there).
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
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
  // Clears the wake function (no call of it runs after this returns), then cancels the sequences still
  // running. Not concurrently with a reading call.
  ~CompletionRunner();
  CompletionRunner(const CompletionRunner&) = delete;
  CompletionRunner& operator=(const CompletionRunner&) = delete;

  // Non-blocking reading: what PullSse says about the stream after the call.
  enum class PullState {
    kMore,  // stopped at max_bytes: more may be ready now; pull again once `out` has room
    kWait,  // everything ready was written: pull again at wake_at (the keep-alive time) or when woken
    kEnd,   // [DONE] was written (by this call or an earlier one): the stream is complete
  };
  struct SsePull {
    PullState state = PullState::kWait;
    Clock::TimePoint wake_at = Clock::TimePoint::max();  // kWait: when a keep-alive falls due; kMore: `now`
  };

  // Submits every sequence and attaches its Stream to the request's queue. On the first failure cancels
  // those already submitted and returns the error.
  Status Submit(Backend& backend);

  // Sets the function called whenever an event of this request arrives (nullptr: none), so a non-blocking
  // reader knows to call PullSse / PollCollect again: RequestEvents::SetNotify's contract (called on the
  // engine's thread with locks held, so it must be a leaf; no call runs after SetWake(nullptr) or the
  // destructor returned). Events that arrived before it was set call nothing: read once after setting it.
  // Any thread, but not from inside the wake function itself.
  void SetWake(std::function<void()> wake);

  // Appends to *out the SSE bytes of everything ready at `now`, whole SSE events only, stopping once
  // out->size() >= max_bytes (an event that crosses it is finished): on the first call the opening chunks,
  // then one or two per queued event, and after the last choice ended the usage chunk and [DONE]. When it
  // wrote nothing and nothing was written for `keepalive` (now >= last write + keepalive), it writes
  // ": keep-alive". `now` is the time the bytes count as written; the first call starts the keep-alive time
  // (it is due `keepalive` after it if nothing else is written). Never blocks. Returns kMore, kWait with
  // the next keep-alive time, or kEnd (see PullState); after kEnd further calls add nothing.
  SsePull PullSse(Clock::TimePoint now, size_t max_bytes, std::string* out, std::chrono::milliseconds keepalive);

  // The response JSON once every choice has ended, or the first sequence error as soon as it arrives (the
  // other choices are then cancelled); nullopt while choices are still running. Never blocks. REQUIRES: not
  // called again after it returned a value.
  std::optional<Result<nlohmann::json>> PollCollect();

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

  // The core of both ways of reading. Collecting: Gather applies one event; Collected is the result once it
  // is known. Streaming: Render turns one event into SSE events on pending_ (with the usage chunk and [DONE]
  // after the last final event); Pull moves pending_ into *out as PullSse says, taking queued events itself
  // only when `take_events` (StreamTo waits for each event instead, and passes it to Render).
  void Gather(const RequestEvents::Event& next);
  std::optional<Result<nlohmann::json>> Collected();
  void Render(const RequestEvents::Event& next);
  SsePull Pull(Clock::TimePoint now, size_t max_bytes, std::string* out, std::chrono::milliseconds keepalive,
               bool take_events);
  void PendChunk(int index, const std::string& text, const std::string& role, std::optional<FinishReason> finish,
                 const nlohmann::json& logprobs);
  void PendEndIfDone();
  nlohmann::json NoLogprobs() const;  // a chunk's logprobs when it has no token (null unless asked for)
  Clock::TimePoint KeepAliveDue(std::chrono::milliseconds keepalive) const;  // last_write_ + keepalive
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
  // The reading thread's state, shared by both ways of reading.
  size_t open_ = 0;                  // choices whose final event has not been read
  bool failed_ = false;              // a sequence error was read (the result of a collect; streamed once)
  bool started_ = false;             // streaming: the opening chunks are pended and last_write_ set
  bool end_pended_ = false;          // streaming: [DONE] is on pending_ (or written)
  std::deque<std::string> pending_;  // streaming: whole SSE events rendered and not yet written
  Clock::TimePoint last_write_;      // streaming: the time of the last bytes written (keep-alive base)
};

}  // namespace fpgaserve
