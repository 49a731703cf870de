#pragma once
// One JSON request through the shared HTTP client, for the broker adapters (module-private header):
// a transport failure that outlasts the retries becomes a transient BrokerError, whose outcome the
// trader looks up before anything else.
#include <string>
#include <utility>
#include <vector>

#include "ploutos/broker/types.hpp"
#include "ploutos/core/http.hpp"

namespace ploutos::broker {

inline HttpResponse send_json(HttpClient& http, const std::string& broker, const std::string& method,
                              const std::string& url, std::vector<std::pair<std::string, std::string>> headers,
                              const std::string& body) {
  HttpRequest req;
  req.method = method;
  req.url = url;
  req.headers = std::move(headers);
  if (!body.empty()) {
    req.headers.emplace_back("Content-Type", "application/json");
    req.body = body;
  }
  try {
    return http.send(req);
  } catch (const HttpError& e) {
    throw BrokerError(BrokerError::Kind::kTransient, broker + ": " + e.what());
  }
}

}  // namespace ploutos::broker
