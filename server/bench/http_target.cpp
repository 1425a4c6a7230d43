#include "server/bench/http_target.h"

// GCC 12 reports false positives inside Boost once it inlines it: a "potential null pointer dereference"
// in Asio's scheduler (scheduler.ipp:325, this_thread is checked just before) and, under the sanitizers,
// "may be used uninitialized" on an empty boost::optional in Beast's parser. Being in a system header does
// not silence middle-end warnings, so this file turns those two off.
#pragma GCC diagnostic ignored "-Wnull-dereference"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <chrono>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "base/parse_number.h"

namespace fpgaserve {

namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

std::string HttpTarget::HostHeader() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + port;
}

std::string HttpTarget::Url() const { return "http://" + HostHeader() + base_path; }

Result<HttpTarget> ParseHttpUrl(const std::string& url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos)
    return Status::InvalidArgument("URL \"" + url + "\" has no scheme: write http://host:port");
  const std::string scheme = url.substr(0, scheme_end);
  if (scheme == "https") {
    return Status::InvalidArgument("https URLs are not supported (\"" + url +
                                   "\"): bench serve speaks plain HTTP; put a local TLS proxy in front if needed");
  }
  if (scheme != "http") return Status::InvalidArgument("URL \"" + url + "\" is not http://");
  std::string rest = url.substr(scheme_end + 3);
  const size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  std::string path = slash == std::string::npos ? "" : rest.substr(slash);
  while (!path.empty() && path.back() == '/') path.pop_back();
  if (path.size() >= 3 && path.compare(path.size() - 3, 3, "/v1") == 0) path.resize(path.size() - 3);

  HttpTarget target;
  target.port = "80";
  if (!authority.empty() && authority.front() == '[') {  // [IPv6]:port
    const size_t close = authority.find(']');
    if (close == std::string::npos) return Status::InvalidArgument("URL \"" + url + "\" has an unclosed [");
    target.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return Status::InvalidArgument("URL \"" + url + "\" is malformed after ]");
      target.port = authority.substr(close + 2);
    }
  } else {
    const size_t colon = authority.rfind(':');
    target.host = authority.substr(0, colon);
    if (colon != std::string::npos) target.port = authority.substr(colon + 1);
  }
  if (target.host.empty()) return Status::InvalidArgument("URL \"" + url + "\" has no host");
  const std::optional<uint64_t> port = ParseUint64(target.port);
  if (!port || *port == 0 || *port > 65535) {
    return Status::InvalidArgument("URL \"" + url + "\" has a bad port");
  }
  target.base_path = path;
  return target;
}

Result<HttpReply> HttpFetch(const HttpTarget& target, const std::string& method, const std::string& path,
                            const std::string& body, const std::string& api_key, double timeout_seconds) {
  boost::asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  http::request<http::string_body> req{http::string_to_verb(method), target.base_path + path, 11};
  req.set(http::field::host, target.HostHeader());
  req.set(http::field::user_agent, "fpgaserve-bench");
  if (!api_key.empty()) req.set(http::field::authorization, "Bearer " + api_key);
  if (!body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = body;
  }
  req.keep_alive(false);
  req.prepare_payload();

  http::response_parser<http::string_body> parser;
  parser.body_limit(64 << 20);
  beast::flat_buffer buffer;
  beast::error_code failure;
  const auto budget = std::chrono::milliseconds(static_cast<int64_t>(timeout_seconds * 1000));
  tcp::resolver resolver(ioc);
  resolver.async_resolve(target.host, target.port,
                         [&](beast::error_code ec, const tcp::resolver::results_type& results) {
                           if (ec) return void(failure = ec);
                           stream.expires_after(budget);  // one budget for the whole exchange: it is never renewed
                           stream.async_connect(results, [&](beast::error_code ec2, const tcp::endpoint&) {
                             if (ec2) return void(failure = ec2);
                             http::async_write(stream, req, [&](beast::error_code ec3, size_t) {
                               if (ec3) return void(failure = ec3);
                               http::async_read(stream, buffer, parser,
                                                [&](beast::error_code ec4, size_t) { failure = ec4; });
                             });
                           });
                         });
  ioc.run();
  const std::string where = method + " " + target.Url() + path;
  if (failure == beast::error::timeout) return Status::DeadlineExceeded(where + " got no answer within the timeout");
  if (failure) return Status::Unavailable(where + " failed: " + failure.message());
  return HttpReply{static_cast<int>(parser.get().result_int()), parser.get().body()};
}

}  // namespace fpgaserve
