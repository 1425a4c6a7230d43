// Request: one parsed HTTP/1.1 request as the transport hands it to the application: our own type, so that the
// layers above never see Beast. A plain value, immutable once the Exchange holding it is made.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fpgaserve::net {

struct Request {
  std::string method;  // upper case: "GET", "POST", "HEAD", ...
  std::string target;  // as sent: "/v1/models?x=1" (an absolute-form target keeps its scheme and host here)
  std::string path;    // the target's path, without the query: "/v1/models"
  std::string query;   // the raw text after '?', empty when none
  std::vector<std::pair<std::string, std::string>> headers;  // in the order sent, names as sent
  std::string body;                                          // the whole body (chunked bodies decoded)
  std::string peer;                                          // the client's address: "127.0.0.1", "::1"
  bool keep_alive = true;  // the client wants the connection kept (HTTP/1.1 without Connection: close)

  // The first header of that name, compared case-insensitively; empty when absent.
  std::string_view header(std::string_view name) const;
};

}  // namespace fpgaserve::net
