// The server under test: an http:// URL taken apart, and a blocking one-shot request for the few calls
// made before a run (GET /v1/models to find the model, POST /tokenize to calibrate text prompts).
#pragma once

#include <string>

#include "base/status.h"

namespace fpgaserve {

struct HttpTarget {
  std::string host;       // name or address, without brackets
  std::string port;       // "80" when the URL has none
  std::string base_path;  // "" or "/prefix" (a trailing "/v1" is removed: endpoints add it back)

  std::string HostHeader() const;  // "host:port"
  std::string Url() const;         // "http://host:port/prefix"
};

// Accepts "http://host[:port][/path]" only. https:// and other schemes are an InvalidArgument error that
// says so (the load generator speaks plain HTTP: benchmark a TLS server through a local proxy).
Result<HttpTarget> ParseHttpUrl(const std::string& url);

struct HttpReply {
  int status = 0;
  std::string body;
};

// One request on a fresh connection; blocks up to `timeout_seconds`. Returns the reply whatever its
// status; Unavailable when the server cannot be reached, DeadlineExceeded when it does not answer in time.
// `body` empty: no body is sent. `api_key` non-empty: sent as "Authorization: Bearer <key>".
Result<HttpReply> HttpFetch(const HttpTarget& target, const std::string& method, const std::string& path,
                            const std::string& body, const std::string& api_key, double timeout_seconds);

}  // namespace fpgaserve
