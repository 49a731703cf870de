#pragma once
// eToro Public API (shared/brokers.md). Positions, not orders, are eToro's unit: a buy opens a
// position (by units), a sell closes positions of the instrument (partly when needed). There is no
// client order id, so idempotency comes from the trader's journal, and recover() matches the
// portfolio (instrument, units, open time, positions we do not know yet) after a lost response.
// The exact paths and field casing are uncertain (docs/brokers.md): they live in EtoroRoutes only.
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ploutos/broker/broker.hpp"
#include "ploutos/core/http.hpp"

namespace ploutos::broker {

// Every path of the protocol in one table; `{demo}` becomes "/demo" on the demo account and ""
// on the real one, `{id}` a position id.
struct EtoroRoutes {
  std::string search = "/market-data/search?internalSymbolFull=";
  std::string instruments = "/market-data/instruments?instrumentIds=";  // ids -> symbols
  std::string rates = "/market-data/instruments/rates?instrumentIds=";
  std::string open_by_units = "/trading/execution{demo}/market-open-orders/by-units";
  std::string open_by_amount = "/trading/execution{demo}/market-open-orders/by-amount";
  std::string close_position = "/trading/execution{demo}/market-close-orders/positions/{id}";
  std::string portfolio = "/trading/info{demo}/portfolio";
};

struct EtoroOptions {
  std::string base_url = "https://public-api.etoro.com/api/v1";
  std::string api_key, user_key;
  bool demo = true;  // paper trading is eToro's demo account
  EtoroRoutes routes;
  HttpClientOptions http;
  // x-request-id: a UUID per request from this seed (0: from the clock and the process id, so a
  // restarted trader never repeats an id; tests set it for reproducible ids).
  std::uint64_t request_id_seed = 0;
};

class EtoroBroker : public Broker {
 public:
  explicit EtoroBroker(EtoroOptions options);
  ~EtoroBroker() override;

  std::string name() const override { return "etoro"; }
  Account account() override;
  std::vector<Position> positions() override;
  Order submit(const OrderRequest& request) override;
  std::optional<Order> order_by_client_id(const std::string& client_order_id) override;
  std::vector<Order> open_orders() override { return {}; }  // market positions open at once
  void cancel(const std::string& order_id) override;
  // eToro has no market clock: the NYSE calendar on the local clock.
  MarketClock clock() override;
  double latest_price(const std::string& symbol) override;
  // No: submit() can set stop-loss and take-profit rates on an open, but a position eToro closes at
  // one leaves no order the journal could look up, so the trader monitors the stops itself.
  bool supports_brackets() const override { return false; }
  std::optional<Order> recover(const OrderRequest& request, Instant sent_after,
                               const std::set<std::string>& known_ids) override;

  int instrument_id(const std::string& symbol);

 private:
  struct EtoroPosition {
    std::string id;
    int instrument = 0;
    bool is_buy = true;
    double units = 0, open_rate = 0, amount = 0;
    double closing = 0;  // units in closes eToro holds (open_units() has them out of `units`)
    Instant opened{};
  };
  // An open eToro accepted and holds (the portfolio's ordersForOpen), e.g. until the market opens.
  struct WaitingOpen {
    std::string id;  // the order id
    int instrument = 0;
    bool is_buy = true;
    double units = 0, amount = 0;
    Instant opened{};
  };
  // A close eToro accepted and holds (the portfolio's ordersForClose).
  struct WaitingClose {
    std::string id;  // the order id
    int instrument = 0;
    std::string position;
    double units = 0;  // units it deducts (the whole position's when eToro names none)
    Instant opened{};
  };
  struct Waiting {
    std::vector<WaitingOpen> opens;
    std::vector<WaitingClose> closes;
  };
  // An open whose position the portfolio does not show yet (not at all, or as a waiting order):
  // matched again on every order_by_client_id().
  struct PendingOpen {
    OrderRequest request;
    Instant sent_after{};
    std::set<std::string> known;  // position ids held before it was sent
  };
  // A sell's closes: the instrument's long positions (id -> units) before the first was sent, and
  // what eToro answered.
  struct ClosePlan {
    OrderRequest request;
    double rate = 0;  // the mid rate before the closes: the fill price (eToro answers none)
    std::map<std::string, double> units_before;
    std::string id;       // close:<position ids>, of the closes answered
    double answered = 0;  // units of the closes answered
  };
  // Every position in it has a symbol in instruments_ afterwards (a restarted trader knows none).
  std::vector<EtoroPosition> portfolio(double* credit = nullptr, Waiting* waiting = nullptr);
  // The positions as they are once the closes eToro holds (ordersForClose) execute: a close placed
  // while the market is closed waits for the open, and the journal has it sold when eToro took it.
  std::vector<EtoroPosition> open_units();
  void learn_symbols(const std::vector<EtoroPosition>& held);
  // Mid rates by instrument id; `every_one`: a missing rate is a protocol error, else left out.
  std::map<int, double> rates(const std::vector<int>& instruments, bool every_one = true);
  std::optional<Order> match_open(const OrderRequest& request, Instant sent_after,
                                  const std::set<std::string>& known_ids);
  // The sell as far as the positions show it went through; nullopt when nothing closed.
  std::optional<Order> closed_so_far(const ClosePlan& plan);
  Order closed_order(const ClosePlan& plan, double units, const std::string& id) const;
  std::string path(std::string route, const std::string& id = "") const;
  // Opens and closes are not idempotent: the HTTP client must not repeat one that may have arrived.
  HttpResponse call(const std::string& method, const std::string& path, const std::string& body = "",
                    bool idempotent = true);
  std::string symbol_of(int instrument) const;

  EtoroOptions options_;
  std::unique_ptr<HttpClient> http_;
  std::map<std::string, int> instruments_;      // symbol -> instrument id
  std::map<std::string, Order> submitted_;      // by client order id, this process only
  std::map<std::string, PendingOpen> pending_;  // by client order id
  std::map<std::string, ClosePlan> closing_;    // by client order id, this process only
  std::uint64_t request_counter_ = 0;
};

}  // namespace ploutos::broker
