#pragma once
// One JSON request through the shared HTTP client, for the broker adapters (module-private header):
// a transport failure that outlasts the retries becomes a transient BrokerError, whose outcome the
// trader looks up before anything else.
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "ploutos/broker/types.hpp"
#include "ploutos/core/error.hpp"
#include "ploutos/core/http.hpp"

namespace ploutos::broker {

inline HttpResponse send_json(HttpClient& http, const std::string& broker, const std::string& method,
                              const std::string& url, std::vector<std::pair<std::string, std::string>> headers,
                              const std::string& body, bool idempotent = true) {
  HttpRequest req;
  req.method = method;
  req.idempotent = idempotent;
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

// The adapters read a reply field by field. A reply of another shape (an array where an object
// belongs, text where a number belongs, a time that is not one) makes the JSON library, a number
// parser or our time parser throw. Here that becomes a protocol error like any other, which the
// trader handles, not an internal error that ends the session.
template <class Read>
decltype(auto) reading_reply(const std::string& what, Read&& read) {
  const auto unexpected = [&](const std::exception& e) {
    return BrokerError(BrokerError::Kind::kProtocol, what + ": unexpected reply (" + e.what() + ")");
  };
  try {
    return read();
  } catch (const nlohmann::json::exception& e) {
    throw unexpected(e);
  } catch (const InputError& e) {
    throw unexpected(e);
  } catch (const std::logic_error& e) {  // std::stod's invalid_argument and out_of_range
    throw unexpected(e);
  }
}

}  // namespace ploutos::broker
