#pragma once
// JSON as text for every output. Strings in it can come from what a user gave us (a CSV field, a
// ticker, a broker's reply) and need not be UTF-8; nlohmann's plain dump() throws on those, which
// would turn a report on a bad file into an internal error. Invalid bytes become U+FFFD instead.
#include <nlohmann/json.hpp>
#include <string>

namespace ploutos {

// indent < 0: one line; otherwise pretty-printed with that many spaces.
template <class Json>
std::string json_text(const Json& j, int indent = -1) {
  return j.dump(indent, ' ', false, Json::error_handler_t::replace);
}

}  // namespace ploutos
