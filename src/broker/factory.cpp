#include <cstdlib>

#include "ploutos/broker/alpaca_broker.hpp"
#include "ploutos/broker/broker.hpp"
#include "ploutos/broker/etoro_broker.hpp"

namespace ploutos::broker {
namespace {

std::string env_value(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

// Loaded into the environment from .env by main; registered for redaction there too.
std::string required_secret(const char* variable, const std::string& broker) {
  std::string value = env_value(variable);
  if (value.empty()) {
    throw InputError(broker + " broker: " + variable +
                     " is not set (environment or .env); for offline paper trading use --broker sim");
  }
  return value;
}

HttpClientOptions http_options(const BrokerOptions& o) {
  HttpClientOptions h;
  h.timeout_seconds = o.timeout_seconds;
  h.max_retries = o.max_retries;
  h.requests_per_second = o.requests_per_minute / 60.0;
  h.burst = std::max(1.0, o.requests_per_minute / 60.0);
  return h;
}

}  // namespace

std::string resolve_broker_name(const std::string& flag, const std::string& config_name) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("BROKER"); env != nullptr && *env != '\0') return env;
  return config_name.empty() ? "etoro" : config_name;
}

std::unique_ptr<Broker> make_broker(const BrokerOptions& o) {
  if (o.name == "alpaca") {
    AlpacaOptions a;
    // Paper trading prefers the paper keys when both kinds are set; live uses only the live keys.
    const bool paper_keys = o.paper && !env_value("ALPACA_PAPER_API_KEY").empty();
    a.key_id = required_secret(paper_keys ? "ALPACA_PAPER_API_KEY" : "ALPACA_API_KEY", "alpaca");
    a.secret = required_secret(paper_keys ? "ALPACA_PAPER_SECRET_KEY" : "ALPACA_SECRET_KEY", "alpaca");
    const std::string trading_url = env_value("ALPACA_TRADING_URL");
    a.base_url = !o.base_url.empty()    ? o.base_url
                 : !trading_url.empty() ? trading_url
                 : o.paper              ? kAlpacaPaperUrl
                                        : kAlpacaLiveUrl;
    if (const auto data = env_value("ALPACA_DATA_URL"); !data.empty()) a.data_url = data;
    a.http = http_options(o);
    return std::make_unique<AlpacaBroker>(a);
  }
  if (o.name == "etoro") {
    EtoroOptions e;
    e.api_key = required_secret("ETORO_API_KEY", "etoro");
    e.user_key = required_secret("ETORO_USER_KEY", "etoro");
    e.demo = o.paper;
    const std::string etoro_url = env_value("ETORO_BASE_URL");
    if (!o.base_url.empty()) {
      e.base_url = o.base_url;
    } else if (!etoro_url.empty()) {
      e.base_url = etoro_url;
    }
    e.http = http_options(o);
    return std::make_unique<EtoroBroker>(e);
  }
  if (o.name == "sim") throw UsageError("the sim broker is built by the trading session (it needs the market)");
  throw UsageError("unknown broker '" + o.name + "' (expected etoro, alpaca or sim)");
}

}  // namespace ploutos::broker
