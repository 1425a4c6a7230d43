#include "server/http/router.h"

namespace fpgaserve {
namespace {

struct Entry {
  std::string_view path;
  std::string_view method;  // the one method the path takes
  RouteId id;
};

constexpr Entry kEntries[] = {
    {"/v1/completions", "POST", RouteId::kCompletions},
    {"/v1/chat/completions", "POST", RouteId::kChatCompletions},
    {"/v1/models", "GET", RouteId::kModels},
    {"/tokenize", "POST", RouteId::kTokenize},
    {"/detokenize", "POST", RouteId::kDetokenize},
    {"/health", "GET", RouteId::kHealth},
    {"/metrics", "GET", RouteId::kMetrics},
};

constexpr std::string_view kModelPrefix = "/v1/models/";

}  // namespace

Route FindRoute(std::string_view method, std::string_view path) {
  const std::string_view as = method == "HEAD" ? std::string_view("GET") : method;
  Route route;
  const Entry* entry = nullptr;
  for (const Entry& e : kEntries) {
    if (path == e.path) entry = &e;
  }
  if (entry == nullptr && path.size() > kModelPrefix.size() && path.substr(0, kModelPrefix.size()) == kModelPrefix) {
    entry = &kEntries[2];
    route.model_id = std::string(path.substr(kModelPrefix.size()));
  }
  if (entry == nullptr) {
    if (method == "OPTIONS") route.id = RouteId::kMethodNotAllowed;  // a preflight the server did not answer
    return route;                                                    // kNotFound, "other"
  }
  route.label = entry->path.data();  // the table's literals are NUL-terminated
  if (as != entry->method) {
    route.id = RouteId::kMethodNotAllowed;
    route.allow = entry->method.data();
    return route;
  }
  route.id = entry->id;
  return route;
}

}  // namespace fpgaserve
