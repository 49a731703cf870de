#include "ploutos/trading/trader.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include "ploutos/core/error.hpp"
#include "ploutos/data/bar.hpp"
#include "ploutos/diagnose/suggestions.hpp"
#include "ploutos/env/from_config.hpp"
#include "ploutos/risk/sizing.hpp"
#include "ploutos/trading/journal_report.hpp"

namespace ploutos::trading {
namespace {

constexpr double kEpsilon = 1e-6;

// The earliest a journaled order can have reached the broker: when its intent was journaled, less
// five minutes for the skew between our clock and the broker's (recover() matches from there).
Instant sent_after(const JournalOrder& o) {
  return parse_instant(o.created_at) - std::chrono::minutes{5};
}

bool same_quantity(double a, double b) {
  return std::abs(a - b) <= kEpsilon * std::max(1.0, std::abs(b));
}

std::string quantity_text(double quantity) {  // 42, 426.0577: no trailing zeros
  char text[32];
  std::snprintf(text, sizeof text, "%.6f", quantity);
  std::string out = text;
  while (!out.empty() && out.back() == '0') out.pop_back();
  if (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

broker::OrderRequest request_of(const JournalOrder& o) {
  broker::OrderRequest r;
  r.client_order_id = o.client_order_id;
  r.symbol = o.symbol;
  r.side = o.side;
  r.quantity = o.quantity;
  return r;
}

}  // namespace

TraderConfig trader_config_from(const config::Config& c) {
  const env::EnvConfig e = env::env_config_from(c, env::Mode::kBacktest);
  TraderConfig t;
  t.initial_balance = e.initial_balance;
  t.buy_pct = e.buy_pct;
  t.max_position_pct = e.max_position_pct;
  t.max_gross_exposure = e.max_gross_exposure;
  t.max_trades_per_day = e.max_trades_per_day;
  t.min_holding_period = e.min_holding_period;
  t.sizing = e.sizing;
  t.kelly_fraction = e.kelly_fraction;
  t.vol_target = e.vol_target;
  t.stop_loss_pct = c.risk.stop_loss_pct;
  t.take_profit_pct = c.risk.take_profit_pct;
  t.bracket_orders = c.trading.stops == "bracket";
  t.kill_max_drawdown = c.risk.max_drawdown;
  t.kill_daily_loss = c.risk.daily_loss_limit;
  t.bars_per_year = data::bars_per_year(data::parse_timeframe(c.data.interval));
  return t;
}

std::string decision_interval(const config::Config& c) {
  if (c.trading.interval == "auto" || c.trading.interval == c.data.interval) return c.data.interval;
  throw UsageError("trading.interval " + c.trading.interval + ": the model decides on " + c.data.interval +
                   " bars (the data.interval it was trained on), once a bar; set trading.interval to auto or " +
                   c.data.interval);
}

std::string client_order_id(const std::string& run_id, Instant t, const std::string& symbol,
                            const std::string& intent) {
  std::string stamp;
  for (const char ch : format_instant(t).substr(0, 16)) {  // 2024-11-29T14:30
    if (ch != '-' && ch != ':') stamp += ch;
  }
  return "pl-" + run_id + "-" + stamp + "-" + symbol + "-" + intent;
}

Trader::Trader(broker::Broker& broker, Journal& journal, TraderConfig config, DecideFn decide)
    : broker_(broker), journal_(journal), config_(std::move(config)), decide_(std::move(decide)) {}

std::set<std::string> Trader::known_broker_ids(const std::string& except) const {
  std::set<std::string> ids;
  for (const auto& o : journal_.orders()) {
    if (!o.broker_order_id.empty() && o.client_order_id != except) ids.insert(o.broker_order_id);
  }
  return ids;
}

bool Trader::brackets() const {
  return config_.bracket_orders && broker_.supports_brackets();
}

void Trader::settle(const JournalOrder& o) {
  if (o.state == kIntended) {
    // Sent or not? Only the broker knows: a crash or a lost response can fall between the two.
    if (const auto found = broker_.recover(request_of(o), sent_after(o), known_broker_ids(o.client_order_id))) {
      apply(o, *found);
      journal_.record_response(o.client_order_id, "recovered after restart: " + std::string(to_string(found->status)));
    } else {
      journal_.set_state(o.client_order_id, kNotSent, "no trace at the broker");
    }
    return;
  }
  // By client order id where the broker has them; a broker without (eToro) forgets an order it
  // had not executed when it restarts, and what it holds now may show it.
  const auto b = broker_.recover(request_of(o), sent_after(o), known_broker_ids(o.client_order_id));
  if (!b) {
    throw ReconciliationError("order " + o.client_order_id + " (" + o.symbol + ", broker id " + o.broker_order_id +
                              ") is in the journal as " + o.state + " but unknown to " + broker_.name());
  }
  apply(o, *b);
}

void Trader::apply(const JournalOrder& o, const broker::Order& at_broker) {
  // The legs of a filled bracketed entry are orders of the broker's: journaled as orders of the
  // entry, the next reconciliations settle them like any other, and the journal's positions follow
  // a stop or a target the broker hit. They are journaled before the entry's new state (a crash
  // between the two leaves the entry unsettled, and the next reconciliation comes back here), their
  // fills after the entry's (a leg that filled on the entry's bar comes after the entry).
  std::vector<std::pair<std::string, broker::Order>> legs;
  if (brackets() && o.side == broker::Side::kBuy && o.parent.empty() &&
      at_broker.status == broker::OrderStatus::kFilled) {
    for (const broker::Order& leg : broker_.legs_of(at_broker)) {
      JournalOrder l;
      l.client_order_id = leg.client_order_id.empty() ? leg.id : leg.client_order_id;
      if (journal_.order(l.client_order_id)) continue;  // journaled before a crash: settled on its own
      l.cycle = o.cycle;
      l.decision_time = o.decision_time;
      l.symbol = o.symbol;
      l.side = broker::Side::kSell;
      l.quantity = leg.quantity > 0 ? leg.quantity : at_broker.filled_quantity;
      l.intent = leg.type == broker::OrderType::kStop ? "stop_loss" : "take_profit";
      l.parent = o.client_order_id;
      journal_.record_intent(l);
      legs.emplace_back(l.client_order_id, leg);
    }
  }
  journal_.apply_broker_order(o.client_order_id, at_broker);
  for (const auto& [id, leg] : legs) journal_.apply_broker_order(id, leg);
}

void Trader::reconcile() {
  try {
    for (const auto& o : journal_.unsettled_orders()) settle(o);
    crash_point("settled");
    std::map<std::string, double> expected = journal_.positions();
    std::map<std::string, double> actual;
    for (const auto& p : broker_.positions()) actual[p.symbol] = p.quantity;
    std::optional<std::set<std::string>> traded;  // symbols this journal ever ordered; read on a difference only
    std::string report;
    bool foreign = false;
    for (const auto& [symbol, quantity] : actual) {
      const double mine = expected.count(symbol) ? expected[symbol] : 0.0;
      if (same_quantity(mine, quantity)) continue;
      if (!traded) {
        traded.emplace();
        for (const auto& o : journal_.orders()) traded->insert(o.symbol);
      }
      if (!traded->count(symbol)) {
        foreign = true;
        report += " " + symbol + ": " + quantity_text(quantity) + " at the broker, never traded by this journal;";
      } else {
        report += " " + symbol + ": journal " + quantity_text(mine) + ", broker " + quantity_text(quantity) + ";";
      }
    }
    for (const auto& [symbol, quantity] : expected) {
      if (!actual.count(symbol) && !same_quantity(quantity, 0.0))
        report += " " + symbol + ": journal " + quantity_text(quantity) + ", broker 0;";
    }
    if (!report.empty()) {
      // A position the journal never traded is someone else's: Ploutos sizes, stops and reconciles
      // as the account's only trader, and cannot tell their orders from a lost one of its own.
      throw ReconciliationError(
          "positions differ between the journal (" + journal_.path() + ") and " + broker_.name() + ":" + report +
          " trading stopped. " +
          (foreign ? "Ploutos must be the only one trading the account: close the positions it did not open, or "
                     "trade another (paper) account"
                   : "Check the broker's activity, then reconcile by hand and start a new journal"));
    }
  } catch (const ReconciliationError& e) {
    journal_.record_event("reconciliation", e.what());
    throw;
  }
}

Trader::Sent Trader::send(const JournalOrder& o, const broker::OrderRequest& r, CycleReport& report) {
  auto handled = [&](std::string outcome) {
    report.orders.push_back({o.client_order_id, o.symbol, o.side, o.quantity, o.intent, std::move(outcome)});
  };
  const auto existing = journal_.order(o.client_order_id);
  if (existing && existing->state != kNotSent && existing->state != kIntended) {  // handled before
    handled("sent_before");
    // The day's count at the start of the cycle (Journal::orders_on_day) has it, unless the broker
    // rejected it or it was a dry run; a rejected order changes nothing, as when it was rejected.
    if (existing->state == "rejected") return Sent::kNo;
    return existing->state == kDryRun ? Sent::kNow : Sent::kBefore;
  }
  if (!existing) {
    journal_.record_intent(o);
  } else {
    journal_.set_state(o.client_order_id, kIntended, "resending: " + existing->state);
  }
  crash_point("intent_journaled");
  if (config_.dry_run) {
    journal_.set_state(o.client_order_id, kDryRun, "dry run: not sent");
    handled(kDryRun);
    return Sent::kNow;
  }
  try {
    const broker::Order accepted = broker_.submit(r);
    crash_point("submitted");
    apply(o, accepted);
    journal_.record_response(o.client_order_id, std::string("accepted: ") + to_string(accepted.status));
    ++report.orders_sent;
    handled(to_string(accepted.status));
    return Sent::kNow;
  } catch (const broker::BrokerError& e) {
    if (e.kind() == broker::BrokerError::Kind::kRejected) {
      journal_.set_state(o.client_order_id, "rejected", e.what());
      journal_.record_response(o.client_order_id, std::string("rejected: ") + e.what());
      journal_.record_event("rejected", o.client_order_id + ": " + e.what());
      report.notes.push_back(o.symbol + " " + o.intent + " rejected: " + e.what());
      ++report.orders_rejected;
      handled("rejected");
      return Sent::kNo;
    }
    // Unknown outcome: the broker may have accepted it. Look before anything else.
    journal_.record_response(o.client_order_id, std::string("no answer: ") + e.what());
    if (const auto found =
            broker_.recover(r, sent_after(*journal_.order(o.client_order_id)), known_broker_ids(o.client_order_id))) {
      apply(o, *found);
      ++report.orders_recovered;
      ++report.orders_sent;
      handled(to_string(found->status));
      return Sent::kNow;
    }
    report.notes.push_back(o.symbol + " " + o.intent + ": no answer, left for the next reconciliation");
    handled("no_answer");
    return Sent::kNow;
  }
}

bool Trader::release_legs(const std::string& symbol, CycleReport& report) {
  if (!brackets() || config_.dry_run) return true;
  const auto open_legs = [&] {
    std::vector<broker::Order> legs;
    for (const auto& o : broker_.open_orders()) {
      if (o.symbol != symbol || o.side != broker::Side::kSell) continue;
      // Only legs: a sell of the trader's own (sent before a restart that repeats its cycle) stays.
      if (const auto mine = journal_.order(o.client_order_id); mine && !mine->parent.empty()) legs.push_back(o);
    }
    return legs;
  };
  try {
    auto legs = open_legs();
    if (legs.empty()) return true;
    std::string ids;
    for (const auto& l : legs) {
      broker_.cancel(l.id);
      ids += (ids.empty() ? "" : ", ") + l.id;
    }
    journal_.record_event("legs_canceled", symbol + ": " + ids + ", to sell the position");
    // A cancel is asynchronous at a real broker: the shares are free once the legs are canceled.
    for (int wait = 0; wait < 20 && !(legs = open_legs()).empty(); ++wait)
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    if (legs.empty()) return true;
    report.notes.push_back(symbol +
                           " sell: its stop-loss/take-profit legs are not canceled yet; left for the next cycle");
  } catch (const broker::BrokerError& e) {
    report.notes.push_back(symbol + " sell: its stop-loss/take-profit legs could not be canceled (" +
                           std::string(e.what()) + "); left for the next cycle");
  }
  return false;
}

CycleReport Trader::run_cycle(const env::MarketData& m, std::size_t bar) {
  CycleReport report;
  const Instant when = m.time[bar];
  report.decision_time = format_instant(when);
  if (journal_.cycle_done(report.decision_time)) {
    report.skipped = true;
    report.skip_reason = "cycle already done (journal)";
    return report;
  }
  reconcile();
  const std::int64_t cycle = journal_.begin_cycle(report.decision_time);
  crash_point("cycle_begun");

  const broker::Account account = broker_.account();
  std::vector<double> quantities(m.n_tickers, 0.0), entry(m.n_tickers, 0.0);
  for (const auto& p : broker_.positions()) {
    const auto it = std::find(m.tickers.begin(), m.tickers.end(), p.symbol);
    if (it == m.tickers.end()) continue;
    const auto k = static_cast<std::size_t>(it - m.tickers.begin());
    quantities[k] = p.quantity;
    entry[k] = p.avg_entry_price;
  }
  const double equity = account.equity;
  const double peak = std::max(journal_.peak_equity().value_or(equity), equity);
  const double day_start = journal_.last_equity_before(report.decision_time.substr(0, 10)).value_or(equity);
  report.cash = account.cash;
  report.equity = equity;
  const risk::Breakers kill{config_.kill_max_drawdown, config_.kill_daily_loss};
  report.kill_switch = kill.drawdown_tripped(equity, peak) || kill.daily_loss_tripped(equity, day_start);
  if (report.kill_switch) {
    char why[160];
    std::snprintf(why, sizeof why, "kill switch: equity %.2f, peak %.2f, previous day %.2f; no new entries", equity,
                  peak, day_start);
    journal_.record_event("kill_switch", why);
    report.notes.push_back(why);
  }

  // A restart keeps the decisions it journaled: it must not change its mind half way.
  report.actions.assign(m.n_tickers, env::kHold);
  const auto journaled = journal_.decisions(cycle);
  if (journaled.size() == m.n_tickers) {
    for (const auto& [symbol, action] : journaled) {
      const auto k =
          static_cast<std::size_t>(std::find(m.tickers.begin(), m.tickers.end(), symbol) - m.tickers.begin());
      if (k < m.n_tickers) report.actions[k] = action;
    }
  } else {
    const env::PortfolioState state{account.cash, equity, peak, config_.initial_balance};
    decide_(m, bar, quantities, state, report.actions);
    for (std::size_t k = 0; k < m.n_tickers; ++k) journal_.record_decision(cycle, m.tickers[k], report.actions[k]);
  }
  crash_point("decided");

  auto order_for = [&](std::size_t k, broker::Side side, double quantity, const std::string& intent) {
    JournalOrder o;
    o.client_order_id = client_order_id(journal_.run_id(), when, m.tickers[k], intent);
    o.cycle = cycle;
    o.decision_time = report.decision_time;
    o.symbol = m.tickers[k];
    o.side = side;
    o.quantity = quantity;
    o.intent = intent;
    return o;
  };
  auto holding_ok = [&](std::size_t k) {
    const auto last = journal_.last_trade_cycle(m.tickers[k]);
    return !last || cycle - *last >= config_.min_holding_period;
  };
  std::int64_t trades_today = journal_.orders_on_day(report.decision_time);

  // In bracket mode the broker's open legs guard a position, each the shares of its entry. Shares no
  // open leg of a kind guards (legs canceled by hand or expired at the broker, a sell that failed
  // after its legs were released, a position from before bracket mode, one entry's legs gone while
  // another's stand) fall back to the trader's own stop of that kind, as without bracket mode.
  std::map<std::pair<std::string, std::string>, double> guarded;  // (symbol, stop_loss | take_profit)
  if (brackets()) {
    for (const auto& o : journal_.unsettled_orders()) {
      if (!o.parent.empty()) guarded[{o.symbol, o.intent}] += o.quantity - o.filled_quantity;
    }
  }
  auto unguarded = [&](std::size_t k, const std::string& intent) {
    const auto it = guarded.find({m.tickers[k], intent});
    const double rest = quantities[k] - (it == guarded.end() ? 0.0 : it->second);
    return rest > kEpsilon * std::max(1.0, quantities[k]) ? rest : 0.0;
  };

  // Exits first: they free cash for the entries. Monitored stops judge the decision bar's range. A
  // ticker that cannot trade at the decision bar (no bar there: the price is the last close carried
  // over) trades nothing, as in the environment.
  for (std::size_t k = 0; k < m.n_tickers; ++k) {
    const std::size_t i = m.at(bar, k);
    if (quantities[k] <= 0 || !m.tradable[i]) continue;
    std::string intent;
    double quantity = quantities[k];
    if (config_.stop_loss_pct > 0 && unguarded(k, "stop_loss") > 0 &&
        m.low[i] <= entry[k] * (1 - config_.stop_loss_pct)) {
      intent = "stop_loss";
      quantity = unguarded(k, intent);
    } else if (config_.take_profit_pct > 0 && unguarded(k, "take_profit") > 0 &&
               m.high[i] >= entry[k] * (1 + config_.take_profit_pct)) {
      intent = "take_profit";
      quantity = unguarded(k, intent);
    } else if (report.actions[k] == env::kSell && holding_ok(k) && trades_today < config_.max_trades_per_day) {
      intent = "sell";
    }
    if (intent.empty() || (intent == "sell" && !release_legs(m.tickers[k], report))) continue;
    const JournalOrder o = order_for(k, broker::Side::kSell, quantity, intent);
    // As in the environment, only the agent's decisions count against the daily cap, not stops.
    if (send(o, request_of(o), report) == Sent::kNow && intent == "sell") ++trades_today;
  }
  crash_point("exits_sent");

  double cash = account.cash;
  double gross = 0;
  std::optional<double> kelly;  // computed on the first entry that needs it
  for (std::size_t k = 0; k < m.n_tickers; ++k) gross += quantities[k] * m.close[m.at(bar, k)];
  const bool protected_entry = brackets() && (config_.stop_loss_pct > 0 || config_.take_profit_pct > 0);
  for (std::size_t k = 0; k < m.n_tickers && !report.kill_switch; ++k) {
    if (report.actions[k] != env::kBuy || !holding_ok(k) || trades_today >= config_.max_trades_per_day) continue;
    const std::size_t i = m.at(bar, k);
    if (!m.tradable[i]) continue;
    const double price = m.close[i];
    double amount = std::min(cash * config_.buy_pct, equity * config_.max_position_pct);
    if (config_.sizing == env::EnvConfig::Sizing::kVolTarget) {
      amount = equity * risk::vol_target_weight(config_.vol_target, m.volatility[i] * std::sqrt(config_.bars_per_year),
                                                config_.max_position_pct);
    } else if (config_.sizing == env::EnvConfig::Sizing::kKelly) {
      // Capped fractional Kelly from this journal's closed trades; buy_pct until there are 20 (as the env).
      if (!kelly) {
        std::size_t wins = 0, losses = 0;
        double win_sum = 0, loss_sum = 0;
        for (const auto& t : round_trips()) {
          if (t.pnl > 0) {
            ++wins;
            win_sum += t.pnl;
          } else {
            ++losses;
            loss_sum -= t.pnl;
          }
        }
        kelly = wins + losses >= 20
                    ? std::optional(risk::kelly_fraction(wins, losses, wins ? win_sum / static_cast<double>(wins) : 0.0,
                                                         losses ? loss_sum / static_cast<double>(losses) : 0.0,
                                                         config_.kelly_fraction, config_.max_position_pct))
                    : std::optional<double>(-1.0);
      }
      if (*kelly >= 0) amount = equity * *kelly;
    }
    const double held = quantities[k] * price;
    amount =
        std::min({amount, cash, equity * config_.max_position_pct - held, equity * config_.max_gross_exposure - gross});
    if (amount < 1.1 * price) continue;         // as the environment: below one share and a margin, no order
    double quantity = amount / (price * 1.02);  // room for an adverse open and costs
    // At least 1.1 / 1.02 shares by the rule above, so never less than one whole share.
    if (protected_entry && broker_.brackets_need_whole_shares()) quantity = std::floor(quantity);
    JournalOrder o = order_for(k, broker::Side::kBuy, quantity, "buy");
    broker::OrderRequest r = request_of(o);
    if (protected_entry) {
      if (config_.stop_loss_pct > 0) r.stop_loss_price = price * (1 - config_.stop_loss_pct);
      if (config_.take_profit_pct > 0) r.take_profit_price = price * (1 + config_.take_profit_pct);
    }
    const Sent sent = send(o, r, report);
    if (sent != Sent::kNo) {
      cash -= amount;
      gross += amount;
    }
    if (sent == Sent::kNow) ++trades_today;
  }
  crash_point("entries_sent");

  // Brokers that fill at once (eToro positions) report fills now; others on the next reconcile.
  for (const auto& o : journal_.unsettled_orders()) {
    if (o.cycle == cycle && o.state != kIntended) settle(o);
  }
  snapshot(report.decision_time);
  crash_point("snapshot");
  journal_.finish_cycle(report.decision_time);
  return report;
}

void Trader::snapshot(const std::string& at) {
  const auto account = broker_.account();
  journal_.record_positions(at, broker_.positions());
  journal_.record_equity(at, account.cash, account.equity);
}

std::vector<diagnose::RoundTrip> Trader::round_trips() const {
  return journal_round_trips(journal_);
}

std::vector<std::string> Trader::end_of_day_analysis() {
  const auto trips = round_trips();
  const auto suggestions = diagnose::losing_trade_suggestions(
      trips, {config_.stop_loss_pct, config_.take_profit_pct, config_.min_holding_period, config_.max_trades_per_day});
  std::vector<std::string> out, keys;
  for (const auto& s : suggestions) {
    const std::string line = "try " + s.key + " = " + s.value + ": " + s.why;
    if (std::find(last_keys_.begin(), last_keys_.end(), s.key) == last_keys_.end()) {
      journal_.record_event("suggestion", line);
      spdlog::info("self-improvement: {}", line);
    }
    keys.push_back(s.key);
    out.push_back(line);
  }
  last_keys_ = std::move(keys);
  return out;
}

}  // namespace ploutos::trading
