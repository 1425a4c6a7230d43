// The load generator's engine: sends streaming completion requests to an OpenAI-compatible server on a
// schedule (arrival times and a concurrency cap) and records, per request, what came back and when.
//
// Asynchronous throughout (Boost.Asio + Beast): one io_context on `threads` threads, one strand per
// connection and one for the scheduler, so a thousand concurrent streams cost a thousand sockets and
// no threads. Each request uses its own connection ("Connection: close"): a request's timings never
// include waiting behind another's response on a shared connection.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "base/status.h"
#include "server/bench/arrivals.h"
#include "server/bench/http_target.h"

namespace fpgaserve {

// One request to send: the body is complete JSON with "stream": true.
struct RequestSpec {
  std::string body;
  int input_tokens = 0;   // the prompt's length as built (exact for token-id prompts); usage overrides it
  int output_tokens = 0;  // the max_tokens asked for
};

enum class RequestOutcome {
  kOk,           // HTTP 200 and a stream that ended cleanly
  kHttpStatus,   // the server answered with another status (http_status says which)
  kConnection,   // connect failed, or the connection broke before the response ended
  kTimeout,      // --timeout fired, or the request was still running at the hard stop
  kStreamError,  // HTTP 200 but the stream carried an error event or malformed JSON
};

struct RequestRecord {
  RequestOutcome outcome = RequestOutcome::kOk;
  int http_status = 0;
  std::string error;          // why it failed, for the log; empty on success
  double send_s = 0.0;        // when the request was started, seconds after the run's start
  double ttft_s = 0.0;        // first chunk with content, after send
  double e2el_s = 0.0;        // end of the response, after send
  std::vector<double> itl_s;  // gaps between consecutive content chunks (arrival times of the reads)
  int prompt_tokens = 0;      // from the usage chunk, else RequestSpec::input_tokens
  int completion_tokens = 0;  // from the usage chunk, else the number of content chunks
  int content_chunks = 0;
  bool usage_reported = false;
  bool done = false;  // the stream ended with data: [DONE]

  bool ok() const { return outcome == RequestOutcome::kOk; }
  // How failures are counted: the status code ("429"), or "connection", "timeout", "stream".
  std::string FailureKey() const;
};

struct LoadProgress {
  int total = 0;  // requests in the run
  int sent = 0;
  int done = 0;  // finished, successfully or not
  int failed = 0;
  int in_flight = 0;
  double elapsed_s = 0.0;
};

struct LoadOptions {
  std::string path = "/v1/completions";  // appended to the target's base path
  std::string api_key;                   // sent as a Bearer token when non-empty
  int max_concurrency = 0;               // requests in flight at most; 0: no cap
  ArrivalOptions arrivals;               // when requests become ready (rate infinity: all at once)
  double max_seconds = 0.0;              // stop sending after this long; 0: no limit
  double grace_seconds = 10.0;           // then cancel what still runs after this much more
  double request_timeout_s = 0.0;        // per request; 0: none
  int threads = 1;                       // io_context threads
  // Called on the scheduler's strand every progress_interval_s and once at the end; must be quick.
  std::function<void(const LoadProgress&)> on_progress;
  double progress_interval_s = 0.2;
};

struct LoadResult {
  std::vector<RequestRecord> records;  // one per request sent, in the order they were sent
  int not_sent = 0;                    // left unsent when --max-seconds stopped the run
  double duration_s = 0.0;             // from the start to the last response's end
  bool hard_stopped = false;           // requests were cancelled at max_seconds + grace
};

// Runs one load and returns when every request sent has finished. Fails only when the run cannot start
// (the host does not resolve); unreachable servers and bad answers are recorded per request.
// Blocks the calling thread; may be called again (sequentially or concurrently) for another run.
Result<LoadResult> RunLoad(const HttpTarget& target, const std::vector<RequestSpec>& specs, const LoadOptions& options);

}  // namespace fpgaserve
