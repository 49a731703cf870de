// The three market-data protocols against fake servers on 127.0.0.1: pagination, auth headers,
// failures (429, 500, malformed and truncated JSON, empty results, wrong symbol) and the fall-through
// from Alpaca to Yahoo to Polygon; then incremental fetches into the data directory.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>

#include "../support/fake_server.hpp"
#include "ploutos/calendar/nyse.hpp"
#include "ploutos/core/http.hpp"
#include "ploutos/data/fetch.hpp"
#include "ploutos/data/sources.hpp"

using namespace ploutos;
using namespace ploutos::data;
using nlohmann::json;
using ploutos::test::FakeServer;

namespace {

// A deterministic market: one bar per NYSE session, price depending on the day.
struct DayBar {
  Day day;
  double o, h, l, c, v;
};
std::vector<DayBar> market(Day first, Day last) {
  std::vector<DayBar> out;
  for (const Day d : calendar::nyse().sessions_between(first, last)) {
    const double p = 100 + (d.time_since_epoch().count() % 37);
    out.push_back({d, p, p + 2, p - 2, p + 1, 1000.0 + static_cast<double>(d.time_since_epoch().count() % 11)});
  }
  return out;
}

HttpClientOptions quick_retries() {
  HttpClientOptions o;
  o.sleep = [](double) {};
  o.max_retries = 2;
  return o;
}

// Alpaca v2 bars with page tokens; 401 without both auth headers; a symbol ZZZZ returns no bars.
// Daily bars; for timeframe=30Min the session's half hours plus one before the open and one after
// the close (Alpaca's bars include extended hours); for timeframe=1Hour clock-hour anchored hours
// (09:00, 10:00, ...), as Alpaca's are. Half hours of the 09:30-anchored hour k (its last one only
// half an hour) make that hour's bar: open, high, low, close of the day's bar shifted by 0.25 k.
// Prices times `basis` (volumes divided by it, as a split does) from `available_from` on; with
// `now` set, nothing after it, and a bar under way at `now` with its close so far.
struct FakeAlpaca {
  FakeServer fake;
  std::atomic<int> requests{0};
  int page_size = 7;
  std::string mode = "ok";  // ok | truncated
  double basis = 1.0;
  Day available_from{};
  Day corrected{};  // this session's close is 0.5 higher: a correction after a first report
  std::optional<Instant> now;
  std::mutex mutex;
  std::vector<std::string> queries;
  FakeAlpaca() {
    fake.server().Get(R"(/v2/stocks/(\w+)/bars)", [this](const httplib::Request& req, httplib::Response& res) {
      ++requests;
      {
        std::lock_guard lock(mutex);
        queries.push_back(req.get_param_value("start") + ".." + req.get_param_value("end"));
      }
      if (req.get_header_value("APCA-API-KEY-ID") != "key" || req.get_header_value("APCA-API-SECRET-KEY") != "secret") {
        res.status = 401;
        res.set_content(R"({"message":"unauthorized"})", "application/json");
        return;
      }
      if (mode == "truncated") {
        res.set_content(R"({"bars":[{"t":"2024-01-02T05:00:00Z","o":1)", "application/json");
        return;
      }
      const std::string symbol = req.matches[1];
      const Day start = std::max(available_from, parse_day(req.get_param_value("start").substr(0, 10)));
      const Day end = parse_day(req.get_param_value("end").substr(0, 10));
      const std::string timeframe = req.get_param_value("timeframe");
      std::vector<json> bars;
      auto add = [&](Instant t, Instant ends, double o, double h, double l, double c, double v) {
        if (now && t >= *now) return;
        const bool under_way = now && ends > *now;
        if (under_way) {  // its close so far
          c = o;
          v /= 2;
        }
        bars.push_back({{"t", format_instant(t)},
                        {"o", o * basis},
                        {"h", h * basis},
                        {"l", l * basis},
                        {"c", c * basis},
                        {"v", v / basis},
                        {"n", 1},
                        {"vw", c * basis}});
      };
      using std::chrono::minutes;
      for (const auto& b : symbol == "ZZZZ" ? std::vector<DayBar>{} : market(start, end)) {
        const auto session = calendar::nyse().session(b.day);
        const double close = b.day == corrected ? b.c + 0.5 : b.c;
        if (timeframe == "1Day") {
          add(Instant{b.day} + std::chrono::hours{5}, session.close, b.o, b.h, b.l, close, b.v);  // midnight NY
        } else if (timeframe == "1Hour") {
          for (Instant t = session.open - minutes{30}; t < session.close; t += std::chrono::hours{1})
            add(t, t + std::chrono::hours{1}, b.o, b.h, b.l, close, b.v);
        } else {
          add(session.open - minutes{30}, session.open, 1, 1000, 1, 1, 1e9);  // pre-market: not the session's
          for (int k = 0; session.open + std::chrono::hours{k} < session.close; ++k) {
            const double shift = 0.25 * k;
            const Instant first = session.open + std::chrono::hours{k}, second = first + minutes{30};
            const double o = b.o + shift, h = b.h + shift, l = b.l + shift, c = close + shift, mid = (o + c) / 2;
            if (second >= session.close) {  // the last hour: one half hour
              add(first, session.close, o, h, l, c, b.v);
              continue;
            }
            add(first, second, o, std::max(o, mid) + 1, l, mid, b.v / 2);  // the low falls in the first half,
            add(second, second + minutes{30}, mid, h, std::min(mid, c) + 0.5, c, b.v / 2);  // the high in the second
          }
          add(session.close, session.close + minutes{30}, 1, 1000, 1, 1, 1e9);  // after hours
        }
      }
      const std::size_t offset = req.has_param("page_token") ? std::stoul(req.get_param_value("page_token")) : 0;
      json page = json::array();
      for (std::size_t i = offset; i < bars.size() && i < offset + static_cast<std::size_t>(page_size); ++i)
        page.push_back(bars[i]);
      const std::size_t next = offset + static_cast<std::size_t>(page_size);
      json body{{"bars", page},
                {"symbol", symbol},
                {"next_page_token", next < bars.size() ? json(std::to_string(next)) : json(nullptr)}};
      res.set_content(body.dump(), "application/json");
    });
    fake.start();
  }
  ~FakeAlpaca() { fake.stop(); }  // before the members its handlers use are destroyed
  AlpacaSourceOptions options() {
    AlpacaSourceOptions o;
    o.base_url = fake.url();
    o.key_id = "key";
    o.secret_key = "secret";
    return o;
  }
};

struct FakeYahoo {
  FakeServer fake;
  std::atomic<int> requests{0};
  std::string mode = "ok";  // ok | error500 | malformed
  FakeYahoo() {
    fake.server().Get(R"(/v8/finance/chart/(\w+))", [this](const httplib::Request& req, httplib::Response& res) {
      ++requests;
      if (mode == "error500") {
        res.status = 500;
        return;
      }
      if (mode == "malformed") {
        res.set_content("<html>rate limited</html>", "text/html");
        return;
      }
      if (req.matches[1] == "ZZZZ") {
        res.status = 404;
        res.set_content(
            R"({"chart":{"result":null,"error":{"code":"Not Found","description":"No data found, symbol may be delisted"}}})",
            "application/json");
        return;
      }
      const auto p1 = std::stoll(req.get_param_value("period1")), p2 = std::stoll(req.get_param_value("period2"));
      const Day start = std::chrono::floor<std::chrono::days>(Instant{std::chrono::seconds{p1}});
      const Day end = std::chrono::floor<std::chrono::days>(Instant{std::chrono::seconds{p2}}) - std::chrono::days{1};
      json ts = json::array(), o = json::array(), h = json::array(), l = json::array(), c = json::array(),
           v = json::array(), adj = json::array();
      for (const auto& b : market(start, end)) {
        ts.push_back(
            calendar::nyse().session(b.day).open.time_since_epoch().count());  // Yahoo stamps daily bars at the open
        o.push_back(b.o);
        h.push_back(b.h);
        l.push_back(b.l);
        c.push_back(b.c);
        v.push_back(b.v);
        adj.push_back(b.c / 2);  // a 2x dividend/split factor to check adjustment
      }
      ts.push_back(ts.empty() ? 0 : ts.back().get<long long>() + 60);  // a trailing null bar, as Yahoo sends
      for (auto* a : {&o, &h, &l, &c, &v, &adj}) a->push_back(nullptr);
      json body{
          {"chart",
           {{"result",
             json::array(
                 {{{"meta", {{"exchangeTimezoneName", "America/New_York"}}},
                   {"timestamp", ts},
                   {"indicators",
                    {{"quote", json::array({{{"open", o}, {"high", h}, {"low", l}, {"close", c}, {"volume", v}}})},
                     {"adjclose", json::array({{{"adjclose", adj}}})}}}}})},
            {"error", nullptr}}}};
      res.set_content(body.dump(), "application/json");
    });
    fake.start();
  }
  ~FakeYahoo() { fake.stop(); }  // before the members its handlers use are destroyed
  YahooSourceOptions options() { return {fake.url()}; }
};

struct FakePolygon {
  FakeServer fake;
  std::atomic<int> requests{0};
  std::string mode = "ok";  // ok | 429
  FakePolygon() {
    auto handler = [this](const httplib::Request& req, httplib::Response& res) {
      ++requests;
      if (req.get_param_value("apiKey") != "pk") {
        res.status = 401;
        res.set_content(R"({"status":"ERROR","error":"bad key"})", "application/json");
        return;
      }
      if (mode == "429") {
        res.status = 429;
        res.set_header("Retry-After", "1");
        return;
      }
      const Day start = parse_day(req.matches[2].str());
      const Day end = parse_day(req.matches[3].str());
      const auto bars = market(start, end);
      const std::size_t offset = req.has_param("cursor") ? std::stoul(req.get_param_value("cursor")) : 0;
      json results = json::array();
      for (std::size_t i = offset; i < bars.size() && i < offset + 5; ++i) {
        const auto& b = bars[i];
        const auto ms = (Instant{b.day} + std::chrono::hours{5}).time_since_epoch().count() * 1000LL;
        results.push_back({{"t", ms}, {"o", b.o}, {"h", b.h}, {"l", b.l}, {"c", b.c}, {"v", b.v}});
      }
      json body{
          {"ticker", req.matches[1].str()}, {"status", "OK"}, {"resultsCount", results.size()}, {"results", results}};
      if (offset + 5 < bars.size()) {
        body["next_url"] = fake.url() + req.path + "?cursor=" + std::to_string(offset + 5);
      }
      res.set_content(body.dump(), "application/json");
    };
    fake.server().Get(R"(/v2/aggs/ticker/(\w+)/range/1/day/([0-9-]+)/([0-9-]+))", handler);
    // Half hours, clock-aligned from 09:00 to 16:30 (extended hours included, as Polygon's are):
    // the i-th of a day at price 100 + i, volume 10.
    fake.server().Get(R"(/v2/aggs/ticker/(\w+)/range/30/minute/([0-9-]+)/([0-9-]+))",
                      [](const httplib::Request& req, httplib::Response& res) {
                        json results = json::array();
                        for (const Day d : calendar::nyse().sessions_between(parse_day(req.matches[2].str()),
                                                                             parse_day(req.matches[3].str()))) {
                          const auto session = calendar::nyse().session(d);
                          int i = 0;
                          for (Instant t = session.open - std::chrono::minutes{30};
                               t <= session.close + std::chrono::minutes{30}; t += std::chrono::minutes{30}, ++i) {
                            const double p = 100 + i;
                            results.push_back({{"t", t.time_since_epoch().count() * 1000LL},
                                               {"o", p},
                                               {"h", p + 0.5},
                                               {"l", p - 0.5},
                                               {"c", p + 0.25},
                                               {"v", 10}});
                          }
                        }
                        res.set_content(json{{"status", "OK"}, {"results", results}}.dump(), "application/json");
                      });
    fake.start();
  }
  ~FakePolygon() { fake.stop(); }  // before the members its handlers use are destroyed
  PolygonSourceOptions options() { return {fake.url(), "pk"}; }
};

const FetchRequest kJanuary{"AAPL", Timeframe::k1d, parse_day("2024-01-01"), parse_day("2024-01-31")};

void expect_market(const BarSeries& s, const FetchRequest& req, double price_factor = 1.0) {
  const auto expected = market(req.start, req.end);
  ASSERT_EQ(s.size(), expected.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    EXPECT_EQ(s.time[i], Instant{expected[i].day});
    EXPECT_DOUBLE_EQ(s.close[i], expected[i].c * price_factor);
    EXPECT_DOUBLE_EQ(s.volume[i], expected[i].v);
  }
}

}  // namespace

TEST(Alpaca, FollowsPageTokensAndStampsSessionDates) {
  FakeAlpaca alpaca;
  HttpClient http(quick_retries());
  auto source = make_alpaca_source(http, alpaca.options());
  const auto s = source->fetch(kJanuary);
  expect_market(s, kJanuary);
  EXPECT_EQ(alpaca.requests.load(), 3);  // 21 sessions in pages of 7
}

TEST(Alpaca, MissingAuthTruncatedJsonAndUnknownSymbolAreSourceErrors) {
  FakeAlpaca alpaca;
  HttpClient http(quick_retries());
  auto opts = alpaca.options();
  opts.secret_key = "wrong";
  EXPECT_THROW(make_alpaca_source(http, opts)->fetch(kJanuary), SourceError);
  EXPECT_FALSE(
      make_alpaca_source(http, AlpacaSourceOptions{alpaca.fake.url(), "", "", "iex", "all"})->has_credentials());
  auto source = make_alpaca_source(http, alpaca.options());
  FetchRequest unknown = kJanuary;
  unknown.ticker = "ZZZZ";
  EXPECT_THROW(source->fetch(unknown), SourceError);
  alpaca.mode = "truncated";
  try {
    source->fetch(kJanuary);
    FAIL();
  } catch (const SourceError& e) {
    EXPECT_NE(std::string(e.what()).find("alpaca: malformed response"), std::string::npos) << e.what();
  }
}

TEST(Yahoo, ParsesChartsSkipsNullBarsAndAdjustsDailyPrices) {
  FakeYahoo yahoo;
  HttpClient http(quick_retries());
  auto source = make_yahoo_source(http, yahoo.options());
  expect_market(source->fetch(kJanuary), kJanuary, 0.5);
  FetchRequest unknown = kJanuary;
  unknown.ticker = "ZZZZ";
  try {
    source->fetch(unknown);
    FAIL();
  } catch (const SourceError& e) {
    EXPECT_NE(std::string(e.what()).find("Not Found"), std::string::npos) << e.what();
  }
  yahoo.mode = "malformed";
  EXPECT_THROW(source->fetch(kJanuary), SourceError);
}

TEST(Polygon, FollowsNextUrlAddingTheKeyAgain) {
  FakePolygon polygon;
  HttpClient http(quick_retries());
  auto source = make_polygon_source(http, polygon.options());
  expect_market(source->fetch(kJanuary), kJanuary);
  EXPECT_EQ(polygon.requests.load(), 5);  // 21 bars in pages of 5
  FetchRequest weekend{"AAPL", Timeframe::k1d, parse_day("2024-01-06"), parse_day("2024-01-07")};
  EXPECT_THROW(source->fetch(weekend), SourceError);  // empty result
}

// Polygon's hours are clock-aligned: its half hours make the project's hours from the session
// open (the pre-market half hour and the ones after the close left out).
TEST(Polygon, HourlyBarsStartAtTheSessionOpen) {
  FakePolygon polygon;
  HttpClient http(quick_retries());
  const FetchRequest day{"AAPL", Timeframe::k1h, parse_day("2024-01-31"), parse_day("2024-01-31")};
  const auto s = make_polygon_source(http, polygon.options())->fetch(day);
  ASSERT_EQ(s.size(), 7u);
  const Instant open = calendar::nyse().session(day.start).open;
  for (std::size_t k = 0; k < 7; ++k) {
    const double first = 101 + 2.0 * static_cast<double>(k);  // the half hour from the open is the day's 2nd
    const bool last = k == 6;                                 // 15:30-16:00: one half hour
    EXPECT_EQ(s.time[k], open + std::chrono::hours{k}) << k;
    EXPECT_DOUBLE_EQ(s.open[k], first) << k;
    EXPECT_DOUBLE_EQ(s.high[k], (last ? first : first + 1) + 0.5) << k;
    EXPECT_DOUBLE_EQ(s.low[k], first - 0.5) << k;
    EXPECT_DOUBLE_EQ(s.close[k], (last ? first : first + 1) + 0.25) << k;
    EXPECT_DOUBLE_EQ(s.volume[k], last ? 10 : 20) << k;
  }
}

TEST(SourceChain, FallsThroughAlpacaToYahooToPolygon) {
  FakeAlpaca alpaca;
  FakeYahoo yahoo;
  FakePolygon polygon;
  HttpClient http(quick_retries());
  yahoo.mode = "error500";
  SourceChain chain;
  auto bad_alpaca = alpaca.options();
  bad_alpaca.secret_key = "wrong";  // 401
  chain.add(make_alpaca_source(http, bad_alpaca));
  chain.add(make_yahoo_source(http, yahoo.options()));
  chain.add(make_polygon_source(http, polygon.options()));
  const auto result = chain.fetch(kJanuary);
  EXPECT_EQ(result.source, "polygon");
  expect_market(result.series, kJanuary);
  EXPECT_EQ(yahoo.requests.load(), 3);  // 500, retried twice

  // Without credentials Alpaca is skipped; Yahoo answers.
  yahoo.mode = "ok";
  SourceChain chain2;
  chain2.add(make_alpaca_source(http, AlpacaSourceOptions{alpaca.fake.url(), "", "", "iex", "all"}));
  chain2.add(make_yahoo_source(http, yahoo.options()));
  const int before = alpaca.requests.load();
  EXPECT_EQ(chain2.fetch(kJanuary).source, "yahoo");
  EXPECT_EQ(alpaca.requests.load(), before);
}

TEST(SourceChain, WhenAllFailTheErrorNamesEachSourceAndWhy) {
  FakeYahoo yahoo;
  FakePolygon polygon;
  HttpClient http(quick_retries());
  yahoo.mode = "malformed";
  polygon.mode = "429";
  SourceChain chain;
  chain.add(make_alpaca_source(http, AlpacaSourceOptions{"http://127.0.0.1:9", "", "", "iex", "all"}));
  chain.add(make_yahoo_source(http, yahoo.options()));
  chain.add(make_polygon_source(http, polygon.options()));
  try {
    chain.fetch(kJanuary);
    FAIL();
  } catch (const SourceError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("alpaca: no credentials"), std::string::npos) << what;
    EXPECT_NE(what.find("yahoo: malformed response"), std::string::npos) << what;
    EXPECT_NE(what.find("polygon: HTTP 429"), std::string::npos) << what;
  }
  EXPECT_EQ(polygon.requests.load(), 3);
}

namespace {

const Instant kLater = Instant{parse_day("2025-01-02")};  // every bar of 2024 has ended

std::filesystem::path fresh_dir(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / ("ploutos_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  return dir;
}

SourceChain alpaca_chain(HttpClient& http, FakeAlpaca& alpaca) {
  alpaca.page_size = 1000;
  SourceChain chain;
  chain.add(make_alpaca_source(http, alpaca.options()));
  return chain;
}

// A data directory filled from the fake Alpaca, removed at the end.
struct AlpacaStore {
  FakeAlpaca alpaca;
  HttpClient http{quick_retries()};
  SourceChain chain = alpaca_chain(http, alpaca);
  std::filesystem::path dir;
  DataStore store;
  explicit AlpacaStore(const std::string& name) : dir(fresh_dir(name)), store(dir) {}
  ~AlpacaStore() { std::filesystem::remove_all(dir); }
  FetchOutcome fetch(const FetchRequest& request, Instant now = kLater) {
    return fetch_into_store(store, chain, request, now);
  }
};

// The same, holding January.
struct JanuaryInStore : AlpacaStore {
  explicit JanuaryInStore(const std::string& name) : AlpacaStore(name) { fetch(kJanuary); }
  FetchOutcome fetch_to_february() {
    return fetch({"AAPL", Timeframe::k1d, parse_day("2024-01-01"), parse_day("2024-02-09")});
  }
};

}  // namespace

TEST(Fetch, SecondFetchAsksOnlyForWhatIsMissing) {
  AlpacaStore f("fetch");
  auto& alpaca = f.alpaca;
  const auto& store = f.store;
  const auto first = f.fetch(kJanuary);
  EXPECT_EQ(first.new_bars, 21u);
  EXPECT_EQ(first.source, "alpaca");
  EXPECT_EQ(alpaca.requests.load(), 1);

  const auto again = f.fetch(kJanuary);
  EXPECT_TRUE(again.requested.empty());
  EXPECT_EQ(alpaca.requests.load(), 1);  // nothing asked

  // Each range reaches into the stored sessions (the first, 01-02; the one before the last, 01-30,
  // whose prices are settled) to compare prices.
  const FetchRequest longer{"AAPL", Timeframe::k1d, parse_day("2023-12-15"), parse_day("2024-02-09")};
  const auto extended = f.fetch(longer);
  ASSERT_EQ(extended.requested.size(), 2u);
  EXPECT_EQ(alpaca.queries[1].substr(0, 10), "2023-12-15");
  EXPECT_EQ(alpaca.queries[1].substr(22, 10), "2024-01-02");
  EXPECT_EQ(alpaca.queries.back().substr(0, 10), "2024-01-30");
  EXPECT_EQ(extended.new_bars, market(longer.start, longer.end).size() - 21);
  EXPECT_EQ(extended.total_bars, market(longer.start, longer.end).size());
  EXPECT_FALSE(extended.rebased);
  expect_market(store.load("AAPL", Timeframe::k1d), longer);
  const auto listed = store.list();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].source, "alpaca");
  EXPECT_FALSE(listed[0].content_hash.empty());

  // A window beyond the stored one brings the sessions between: the store stays contiguous.
  const FetchRequest march{"AAPL", Timeframe::k1d, parse_day("2024-03-01"), parse_day("2024-03-08")};
  f.fetch(march);
  expect_market(store.load("AAPL", Timeframe::k1d), {"AAPL", Timeframe::k1d, longer.start, march.end});
}

// A daily bar fetched before its session closed is the day so far: it is not stored, and a fetch
// after the close stores the whole bar.
TEST(Fetch, ABarThatHasNotEndedIsNotStored) {
  AlpacaStore f("fetch_unfinished");
  auto& alpaca = f.alpaca;
  const auto& store = f.store;
  const Instant lunch = calendar::nyse().session(parse_day("2024-01-31")).open + std::chrono::hours{3};
  alpaca.now = lunch;
  const auto during = f.fetch(kJanuary, lunch);
  EXPECT_EQ(during.unfinished_bars, 1u);
  EXPECT_EQ(during.total_bars, 20u);
  EXPECT_EQ(format_day(std::chrono::floor<std::chrono::days>(store.load("AAPL", Timeframe::k1d).time.back())),
            "2024-01-30");
  alpaca.now.reset();
  const auto after = f.fetch(kJanuary);
  EXPECT_EQ(after.new_bars, 1u);
  EXPECT_EQ(after.unfinished_bars, 0u);
  expect_market(store.load("AAPL", Timeframe::k1d), kJanuary);  // 01-31 with its closing price
}

// Hourly bars arrive through the day: each fetch adds the hours that have ended since the last
// one (the last stored session is asked again until its last bar has ended at the close), on the
// grid of the session open whatever the source's own hours.
TEST(Fetch, HourlyBarsOfTheDayArriveWithEachFetch) {
  AlpacaStore f("fetch_hourly");
  auto& alpaca = f.alpaca;
  const auto& store = f.store;
  const Day day = parse_day("2024-01-31");
  const Instant open = calendar::nyse().session(day).open;
  const FetchRequest week{"AAPL", Timeframe::k1h, parse_day("2024-01-29"), day};
  std::size_t stored = 0;
  for (int hour = 1; hour <= 7; ++hour) {
    const Instant now = open + std::chrono::hours{hour} + std::chrono::minutes{1};
    alpaca.now = now;
    const auto r = f.fetch(week, now);
    ASSERT_FALSE(r.requested.empty()) << "hour " << hour;
    const auto series = store.load("AAPL", Timeframe::k1h);
    EXPECT_EQ(series.size(), 14u + static_cast<std::size_t>(std::min(hour, 7))) << "hour " << hour;
    EXPECT_EQ(series.time.back(), open + std::chrono::hours{std::min(hour, 7) - 1}) << "hour " << hour;
    EXPECT_EQ(r.new_bars, series.size() - stored) << "hour " << hour;
    stored = series.size();
  }
  EXPECT_TRUE(f.fetch(week).requested.empty()) << "the session is complete";
  // Alpaca's own hours start on the clock (09:00, 10:00); the store holds the project's grid from
  // the session open, each hour built from its two half hours, nothing from outside the session.
  const auto series = store.load("AAPL", Timeframe::k1h);
  const auto days = market(week.start, week.end);
  ASSERT_EQ(series.size(), 7 * days.size());
  for (std::size_t i = 0; i < series.size(); ++i) {
    const auto& b = days[i / 7];
    const double shift = 0.25 * static_cast<double>(i % 7);
    EXPECT_EQ(series.time[i], calendar::nyse().session(b.day).open + std::chrono::hours{i % 7}) << i;
    EXPECT_DOUBLE_EQ(series.open[i], b.o + shift) << i;
    EXPECT_DOUBLE_EQ(series.high[i], b.h + shift) << i;
    EXPECT_DOUBLE_EQ(series.low[i], b.l + shift) << i;
    EXPECT_DOUBLE_EQ(series.close[i], b.c + shift) << i;
    EXPECT_DOUBLE_EQ(series.volume[i], b.v) << i;
  }
}

// Hours stored on another grid (clock-anchored, as an earlier version stored Alpaca's) cannot be
// merged bar by bar with the session-open grid: the history is fetched again on one grid.
TEST(Fetch, HoursStoredOnAnotherGridAreFetchedAgainOnTheSessionGrid) {
  AlpacaStore f("fetch_grid");
  BarSeries clock_hours;
  clock_hours.ticker = "AAPL";
  clock_hours.timeframe = Timeframe::k1h;
  for (const char* day : {"2024-01-29", "2024-01-30"}) {
    const auto session = calendar::nyse().session(parse_day(day));
    for (Instant t = session.open + std::chrono::minutes{30}; t < session.close; t += std::chrono::hours{1})
      clock_hours.push_back({t, 100, 101, 99, 100, 1000});
  }
  f.store.save(clock_hours, "alpaca");
  const auto r = f.fetch({"AAPL", Timeframe::k1h, parse_day("2024-01-29"), parse_day("2024-01-31")});
  EXPECT_TRUE(r.rebased);
  EXPECT_NE(r.note.find("where the store has none"), std::string::npos) << r.note;
  const auto s = f.store.load("AAPL", Timeframe::k1h);
  ASSERT_EQ(s.size(), 21u);
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto open = calendar::nyse().session(calendar::nyse().new_york_day(s.time[i])).open;
    EXPECT_EQ((s.time[i] - open) % std::chrono::hours{1}, std::chrono::seconds{0}) << format_instant(s.time[i]);
  }
}

// A source that corrects the close of the last session it reported is not a change of basis:
// the correction replaces the stored bar, the rest stays.
TEST(Fetch, ACorrectedLastCloseReplacesTheStoredOne) {
  JanuaryInStore f("fetch_corrected");
  f.alpaca.corrected = parse_day("2024-01-31");
  const auto r = f.fetch_to_february();
  EXPECT_FALSE(r.rebased) << r.note;
  const auto s = f.store.load("AAPL", Timeframe::k1d);
  const auto expected = market(parse_day("2024-01-01"), parse_day("2024-02-09"));
  ASSERT_EQ(s.size(), expected.size());
  for (std::size_t i = 0; i < s.size(); ++i)
    EXPECT_DOUBLE_EQ(s.close[i], expected[i].day == f.alpaca.corrected ? expected[i].c + 0.5 : expected[i].c) << i;
}

// A 4:1 split between two fetches: the source's history is now a quarter of the stored prices
// (volumes 4x). Appending would leave a -75% bar that never happened; the whole history is fetched
// again on the new basis instead, and the outcome says why.
TEST(Fetch, ASplitSinceTheLastFetchRefetchesTheHistoryOnTheNewBasis) {
  JanuaryInStore f("fetch_split");
  f.alpaca.basis = 0.25;
  const auto r = f.fetch_to_february();
  EXPECT_TRUE(r.rebased);
  EXPECT_NE(r.note.find("2024-01-30"), std::string::npos) << r.note;
  const auto s = f.store.load("AAPL", Timeframe::k1d);
  const auto expected = market(parse_day("2024-01-01"), parse_day("2024-02-09"));
  ASSERT_EQ(s.size(), expected.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    EXPECT_DOUBLE_EQ(s.close[i], expected[i].c * 0.25) << i;
    EXPECT_DOUBLE_EQ(s.volume[i], expected[i].v * 4) << i;
  }
  EXPECT_EQ(r.new_bars, expected.size() - 21);
}

// When the source no longer reaches back as far as the stored history, a basis change cannot be
// repaired by fetching: the store is left exactly as it was and the error says what to do.
TEST(Fetch, ABasisChangeTheSourceCannotRepairChangesNothing) {
  JanuaryInStore f("fetch_short_source");
  const auto before = f.store.list().at(0).content_hash;
  f.alpaca.basis = 0.5;
  f.alpaca.available_from = parse_day("2024-01-10");
  try {
    f.fetch_to_february();
    FAIL() << "a history on two bases was stored";
  } catch (const SourceError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("AAPL: the source's bars differ from the stored ones"), std::string::npos) << what;
    EXPECT_NE(what.find("starts 2024-01-10, the store 2024-01-02"), std::string::npos) << what;
    EXPECT_NE(what.find("nothing was changed"), std::string::npos) << what;
  }
  EXPECT_EQ(f.store.list().at(0).content_hash, before);
}

TEST(Fetch, MissingRangesSkipSpansWithoutSessions) {
  BarSeries stored;
  stored.push_back({Instant{parse_day("2024-01-02")}, 1, 1, 1, 1, 1});
  stored.push_back({Instant{parse_day("2024-01-05")}, 1, 1, 1, 1, 1});
  // 2024-01-06/07 is a weekend: nothing to ask for.
  EXPECT_TRUE(missing_ranges(parse_day("2024-01-02"), parse_day("2024-01-07"), &stored).empty());
  const auto r = missing_ranges(parse_day("2023-12-30"), parse_day("2024-01-08"), &stored);
  ASSERT_EQ(r.size(), 1u);  // 12-30..01-01 has no session (weekend + New Year)
  EXPECT_EQ(format_day(r[0].first), "2024-01-02") << "from the stored session before the last, to compare prices";
  EXPECT_EQ(format_day(r[0].second), "2024-01-08");
}

// Every source against a server that answers with one odd body (other JSON types, fields of the
// wrong type, lists shorter than the timestamps, timestamps out of range): a SourceError or
// another ploutos::Error that names the source, so the chain tries the next one; never a JSON
// library exception that would end a fetch as an internal error.
TEST(SourceChain, AReplyOfAnyOtherShapeIsAnErrorOfTheSource) {
  const std::vector<std::string> bodies = {
      "",
      "null",
      "5",
      "\"x\"",
      "[]",
      "{}",
      "[{}]",
      "{\"x\":",
      R"({"chart": 5})",
      R"({"chart": {"error": 5}})",
      R"({"chart": {"error": {"code": 5, "description": []}}})",
      R"({"chart": {"result": [5]}})",
      R"({"chart": {"result": [{"timestamp": 5}]}})",
      R"({"chart": {"result": [{"timestamp": [1704205800, 1704292200], "indicators": {"quote": [{"open": [1], "high": [1], "low": [1], "close": [1], "volume": [1]}]}}]}})",
      R"({"chart": {"result": [{"timestamp": [1.5e300], "indicators": {"quote": [{"open": [1], "high": [1], "low": [1], "close": [1], "volume": [1]}]}}]}})",
      R"({"chart": {"result": [{"timestamp": [1704205800], "indicators": {"quote": [{"open": ["a"], "high": [1], "low": [1], "close": [1], "volume": [1]}], "adjclose": 5}}]}})",
      R"({"status": 5, "error": []})",
      R"({"status": "OK", "results": [{"t": 1.5e300}]})",
      R"({"status": "OK", "results": [{"t": 1704205800000, "o": "1"}]})",
      R"({"status": "OK", "results": {}})",
      R"({"bars": [{"t": 5}]})",
      R"({"bars": {}})",
      R"({"bars": [{"t": "2024-01-02T05:00:00Z", "o": "x"}]})",
      R"({"bars": [{"t": "yesterday", "o": 1, "h": 1, "l": 1, "c": 1, "v": 1}]})"};
  FakeServer fake;
  std::mutex mutex;
  std::string body;
  fake.server().Get(".*", [&](const httplib::Request&, httplib::Response& res) {
    std::lock_guard lock(mutex);
    res.set_content(body, "application/json");
  });
  fake.start();
  HttpClient http(quick_retries());
  for (const auto& b : bodies) {
    {
      std::lock_guard lock(mutex);
      body = b;
    }
    std::vector<std::unique_ptr<BarSource>> sources;
    sources.push_back(make_alpaca_source(http, AlpacaSourceOptions{fake.url(), "k", "s", "iex", "all"}));
    sources.push_back(make_yahoo_source(http, YahooSourceOptions{fake.url()}));
    sources.push_back(make_polygon_source(http, PolygonSourceOptions{fake.url(), "pk"}));
    for (const auto& source : sources) {
      try {
        source->fetch(kJanuary);
        ADD_FAILURE() << source->name() << " made bars of " << b;
      } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find(source->name()), std::string::npos) << e.what();
      } catch (const std::exception& e) {
        ADD_FAILURE() << source->name() << " with body " << b << ": " << e.what();
      }
    }
  }
}
