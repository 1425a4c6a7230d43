// Router: which of the server's routes a method and path name, or why none does.
//
//   POST /v1/completions, /v1/chat/completions   kCompletions, kChatCompletions
//   GET  /v1/models, /v1/models/{id}             kModels (model_id set for the second form)
//   POST /tokenize, /detokenize                  kTokenize, kDetokenize
//   GET  /health, /metrics                       kHealth, kMetrics
// HEAD is answered as GET (the transport drops the body). A known path with another method is
// kMethodNotAllowed, with `allow` the method it takes; an unknown path is kNotFound, except for OPTIONS,
// which is kMethodNotAllowed on every path: the server answers the CORS preflights it allows before
// routing, and only those.
//
// A pure function of its inputs: no state, any thread.
#pragma once

#include <string>
#include <string_view>

namespace fpgaserve {

enum class RouteId {
  kCompletions,
  kChatCompletions,
  kModels,
  kTokenize,
  kDetokenize,
  kHealth,
  kMetrics,
  kMethodNotAllowed,
  kNotFound,
};

struct Route {
  RouteId id = RouteId::kNotFound;
  std::string model_id;         // kModels for /v1/models/{id}: the id, percent-decoding not applied
  const char* allow = "";       // kMethodNotAllowed: the Allow header's value
  const char* label = "other";  // the endpoint label of the request metrics: the route's path, or "other"
};

Route FindRoute(std::string_view method, std::string_view path);

}  // namespace fpgaserve
