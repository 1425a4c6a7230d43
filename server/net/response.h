// Response and ResponseHead: what the application answers through an Exchange. Plain values.
// The transport writes the status line, Content-Length (Reply) or Transfer-Encoding: chunked (Stream), and
// Connection: close when it will close the connection; do not put those in `headers`. A "Connection: close"
// header the application does add makes the transport close after this answer.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace fpgaserve::net {

// The status and headers of a streamed answer (Exchange::Stream); the body comes from a BodySource.
struct ResponseHead {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string content_type;  // written as Content-Type when not empty
};

// A whole answer (Exchange::Reply). For HEAD requests the body is not sent (Content-Length still says its size).
struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string content_type;  // written as Content-Type when not empty
};

}  // namespace fpgaserve::net
