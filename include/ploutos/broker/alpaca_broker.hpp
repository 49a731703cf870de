#pragma once
// Alpaca Trading API v2 (shared/brokers.md): account, positions, orders (market, limit, stop,
// bracket) with client_order_id, lookup by client id, cancel, clock and calendar. Requests go
// through the shared HTTP client: retries with backoff on 429/5xx/timeouts, a client-side rate
// limit (200 requests/min by default), credentials only in headers and never logged.
#include <memory>
#include <string>
#include <vector>

#include "ploutos/broker/broker.hpp"
#include "ploutos/core/http.hpp"

namespace ploutos::broker {

inline constexpr const char* kAlpacaPaperUrl = "https://paper-api.alpaca.markets";
inline constexpr const char* kAlpacaLiveUrl = "https://api.alpaca.markets";

struct AlpacaOptions {
  std::string base_url = kAlpacaPaperUrl;
  std::string data_url = "https://data.alpaca.markets";  // latest prices
  std::string key_id, secret;
  HttpClientOptions http;
};

struct AlpacaSession {
  Day day;
  std::string open, close;  // "09:30", "16:00" or "13:00" (New York time)
};

class AlpacaBroker : public Broker {
 public:
  explicit AlpacaBroker(AlpacaOptions options);
  ~AlpacaBroker() override;

  std::string name() const override { return "alpaca"; }
  Account account() override;
  std::vector<Position> positions() override;
  Order submit(const OrderRequest& request) override;
  std::optional<Order> order_by_client_id(const std::string& client_order_id) override;
  std::vector<Order> open_orders() override;
  void cancel(const std::string& order_id) override;
  MarketClock clock() override;
  double latest_price(const std::string& symbol) override;
  bool supports_brackets() const override { return true; }
  bool brackets_need_whole_shares() const override { return true; }
  std::vector<Order> legs_of(const Order& parent) override;
  std::vector<AlpacaSession> calendar(Day first, Day last);

  // The order body Alpaca expects for a request (tests compare it with the protocol).
  static std::string order_body(const OrderRequest& request);

 private:
  HttpResponse call(const std::string& method, const std::string& url, const std::string& body = "");

  AlpacaOptions options_;
  std::unique_ptr<HttpClient> http_;
};

}  // namespace ploutos::broker
