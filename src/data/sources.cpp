#include "ploutos/data/sources.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "ploutos/calendar/nyse.hpp"
#include "ploutos/core/http.hpp"
#include "ploutos/data/resample.hpp"

namespace ploutos::data {
namespace {

using nlohmann::json;

std::string env_or(const char* name, const std::string& fallback = "") {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}

std::string trim_slash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

std::string snippet(const std::string& body) {
  std::string s = body.substr(0, 160);
  std::replace(s.begin(), s.end(), '\n', ' ');
  return s;
}

json parse_body(const std::string& source, const HttpResponse& response) {
  if (response.status != 200) {
    throw SourceError(source + ": HTTP " + std::to_string(response.status) + ": " + snippet(response.body));
  }
  try {
    return json::parse(response.body);
  } catch (const json::exception& e) {
    throw SourceError(source + ": malformed response (" + std::string(e.what()) + ")");
  }
}

// Keeps bars inside [start, end] and, for intraday, inside regular sessions; stamps daily bars
// with their New York session date.
void append_bar(BarSeries& out, const FetchRequest& req, Instant t, double o, double h, double l, double c, double v) {
  const auto& cal = calendar::nyse();
  const Day day = cal.new_york_day(t);
  if (day < req.start || day > req.end || !cal.is_session(day)) return;
  if (req.timeframe == Timeframe::k1d) {
    t = Instant{day};
  } else {
    const auto session = cal.session(day);
    if (t < session.open || t >= session.close) return;
  }
  if (!out.empty() && t <= out.time.back()) return;  // duplicates across page boundaries
  out.push_back(Bar{t, o, h, l, c, v});
}

// A text field of a reply, or `otherwise` when the reply is not an object or the field is not text.
std::string string_field(const json& j, const char* key, const char* otherwise = "") {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string(otherwise);
}

double number(const json& j, const char* key, const std::string& source) {
  const auto it = j.find(key);
  if (it == j.end() || !it->is_number()) throw SourceError(source + ": malformed bar: missing number '" + key + "'");
  return it->get<double>();
}

BarSeries finish(BarSeries series, const std::string& source, const FetchRequest& req) {
  if (series.empty()) {
    throw SourceError(source + ": no bars for " + req.ticker + " " + format_day(req.start) + ".." +
                      format_day(req.end));
  }
  series.ticker = req.ticker;
  series.timeframe = req.timeframe;
  return series;
}

class AlpacaSource final : public BarSource {
 public:
  AlpacaSource(HttpClient& http, AlpacaSourceOptions o) : http_(http), o_(std::move(o)) {}
  std::string name() const override { return "alpaca"; }
  bool has_credentials() const override { return !o_.key_id.empty() && !o_.secret_key.empty(); }
  BarSeries fetch(const FetchRequest& req) override {
    // Alpaca's hours are clock-hour anchored (10:00, 11:00): half hours build the project's grid.
    const std::string timeframe = req.timeframe == Timeframe::k1d ? "1Day" : "30Min";
    const std::string base = trim_slash(o_.base_url) + "/v2/stocks/" + url_encode(req.ticker) +
                             "/bars?timeframe=" + timeframe + "&start=" + format_day(req.start) +
                             "T00:00:00Z&end=" + format_day(req.end) +
                             "T23:59:59Z&limit=10000&adjustment=" + o_.adjustment + "&feed=" + o_.feed;
    BarSeries out;
    std::string page_token;
    for (int page = 0; page < 10000; ++page) {
      const std::string url = page_token.empty() ? base : base + "&page_token=" + url_encode(page_token);
      const json body =
          parse_body(name(), http_.get(url, {{"APCA-API-KEY-ID", o_.key_id}, {"APCA-API-SECRET-KEY", o_.secret_key}}));
      if (!body.is_object()) throw SourceError("alpaca: malformed response (not an object)");
      const auto bars = body.find("bars");
      if (bars != body.end() && bars->is_array()) {
        for (const auto& b : *bars) {
          if (!b.is_object() || !b.contains("t") || !b["t"].is_string()) throw SourceError("alpaca: malformed bar");
          Instant t;
          try {
            t = parse_instant(b["t"].get<std::string>());
          } catch (const InputError& e) {
            throw SourceError("alpaca: malformed bar (" + std::string(e.what()) + ")");
          }
          append_bar(out, req, t, number(b, "o", name()), number(b, "h", name()), number(b, "l", name()),
                     number(b, "c", name()), number(b, "v", name()));
        }
      } else if (bars != body.end() && !bars->is_null()) {
        throw SourceError("alpaca: malformed response ('bars' is not a list)");
      }
      const auto next = body.find("next_page_token");
      if (next == body.end() || next->is_null() || !next->is_string() || next->get<std::string>().empty()) break;
      page_token = next->get<std::string>();
    }
    if (is_intraday(req.timeframe)) out = session_hours(out);
    return finish(std::move(out), name(), req);
  }

 private:
  HttpClient& http_;
  AlpacaSourceOptions o_;
};

class YahooSource final : public BarSource {
 public:
  YahooSource(HttpClient& http, YahooSourceOptions o) : http_(http), o_(std::move(o)) {}
  std::string name() const override { return "yahoo"; }
  BarSeries fetch(const FetchRequest& req) override {
    const auto period1 = Instant{req.start}.time_since_epoch().count();
    const auto period2 = Instant{req.end + std::chrono::days{1}}.time_since_epoch().count();
    const std::string url = trim_slash(o_.base_url) + "/v8/finance/chart/" + url_encode(req.ticker) +
                            "?interval=" + std::string(req.timeframe == Timeframe::k1d ? "1d" : "1h") +
                            "&period1=" + std::to_string(period1) + "&period2=" + std::to_string(period2) +
                            "&events=split,div";
    const HttpResponse response = http_.get(url);
    json body;
    try {
      body = json::parse(response.body);
    } catch (const json::exception& e) {
      throw SourceError("yahoo: " + (response.status != 200 ? "HTTP " + std::to_string(response.status)
                                                            : "malformed response (" + std::string(e.what()) + ")"));
    }
    const json* chart = body.is_object() && body.contains("chart") ? &body["chart"] : nullptr;
    if (chart != nullptr && chart->contains("error") && !(*chart)["error"].is_null()) {
      const auto& err = (*chart)["error"];
      throw SourceError("yahoo: " + string_field(err, "code", "error") + ": " + string_field(err, "description"));
    }
    if (response.status != 200)
      throw SourceError("yahoo: HTTP " + std::to_string(response.status) + ": " + snippet(response.body));
    if (chart == nullptr || !chart->contains("result") || !(*chart)["result"].is_array() ||
        (*chart)["result"].empty()) {
      throw SourceError("yahoo: malformed response (no chart.result)");
    }
    const json& result = (*chart)["result"][0];
    BarSeries out;
    if (!result.contains("timestamp")) return finish(std::move(out), name(), req);  // no bars in range
    try {
      const auto& ts = result.at("timestamp");
      const auto& quote = result.at("indicators").at("quote").at(0);
      const json* adj = nullptr;
      if (req.timeframe == Timeframe::k1d && result["indicators"].contains("adjclose")) {
        adj = &result["indicators"]["adjclose"].at(0).at("adjclose");
      }
      // at(i) throughout: a list shorter than the timestamps is a malformed response, not a read past it.
      for (std::size_t i = 0; i < ts.size(); ++i) {
        const auto& o = quote.at("open").at(i);
        const auto& h = quote.at("high").at(i);
        const auto& l = quote.at("low").at(i);
        const auto& c = quote.at("close").at(i);
        const auto& v = quote.at("volume").at(i);
        if (o.is_null() || h.is_null() || l.is_null() || c.is_null()) continue;  // a missing bar stays missing
        if (!ts.at(i).is_number_integer()) throw SourceError("yahoo: malformed response (a timestamp)");
        // Daily bars become split- and dividend-adjusted like the project's files: scale by adjclose/close.
        const double factor = adj != nullptr && !adj->at(i).is_null() && c.get<double>() != 0
                                  ? adj->at(i).get<double>() / c.get<double>()
                                  : 1.0;
        append_bar(out, req, Instant{std::chrono::seconds{ts.at(i).get<std::int64_t>()}}, o.get<double>() * factor,
                   h.get<double>() * factor, l.get<double>() * factor, c.get<double>() * factor,
                   v.is_null() ? 0.0 : v.get<double>());
      }
    } catch (const json::exception& e) {
      throw SourceError("yahoo: malformed response (" + std::string(e.what()) + ")");
    }
    return finish(std::move(out), name(), req);
  }

 private:
  HttpClient& http_;
  YahooSourceOptions o_;
};

class PolygonSource final : public BarSource {
 public:
  PolygonSource(HttpClient& http, PolygonSourceOptions o) : http_(http), o_(std::move(o)) {}
  std::string name() const override { return "polygon"; }
  bool has_credentials() const override { return !o_.api_key.empty(); }
  BarSeries fetch(const FetchRequest& req) override {
    // Polygon's hours are clock-hour anchored, as Alpaca's: half hours build the project's grid.
    const std::string span = req.timeframe == Timeframe::k1d ? "1/day" : "30/minute";
    std::string url = trim_slash(o_.base_url) + "/v2/aggs/ticker/" + url_encode(req.ticker) + "/range/" + span + "/" +
                      format_day(req.start) + "/" + format_day(req.end) + "?adjusted=true&sort=asc&limit=50000";
    BarSeries out;
    for (int page = 0; page < 10000 && !url.empty(); ++page) {
      const std::string with_key =
          url + (url.find('?') == std::string::npos ? "?" : "&") + "apiKey=" + url_encode(o_.api_key);
      const json body = parse_body(name(), http_.get(with_key));
      if (!body.is_object()) throw SourceError("polygon: malformed response (not an object)");
      const std::string status = string_field(body, "status");
      if (status != "OK" && status != "DELAYED")
        throw SourceError("polygon: status " + status + ": " + string_field(body, "error"));
      if (body.contains("results")) {
        if (!body["results"].is_array()) throw SourceError("polygon: malformed response ('results' is not a list)");
        for (const auto& b : body["results"]) {
          if (!b.is_object() || !b.contains("t") || !b["t"].is_number_integer())
            throw SourceError("polygon: malformed bar");
          append_bar(out, req,
                     Instant{std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::milliseconds{b["t"].get<std::int64_t>()})},
                     number(b, "o", name()), number(b, "h", name()), number(b, "l", name()), number(b, "c", name()),
                     number(b, "v", name()));
        }
      }
      url = body.contains("next_url") && body["next_url"].is_string() ? body["next_url"].get<std::string>() : "";
    }
    if (is_intraday(req.timeframe)) out = session_hours(out);
    return finish(std::move(out), name(), req);
  }

 private:
  HttpClient& http_;
  PolygonSourceOptions o_;
};

}  // namespace

std::unique_ptr<BarSource> make_alpaca_source(HttpClient& http, AlpacaSourceOptions options) {
  return std::make_unique<AlpacaSource>(http, std::move(options));
}
std::unique_ptr<BarSource> make_yahoo_source(HttpClient& http, YahooSourceOptions options) {
  return std::make_unique<YahooSource>(http, std::move(options));
}
std::unique_ptr<BarSource> make_polygon_source(HttpClient& http, PolygonSourceOptions options) {
  return std::make_unique<PolygonSource>(http, std::move(options));
}

AlpacaSourceOptions alpaca_options_from_env() {
  AlpacaSourceOptions o;
  o.base_url = env_or("ALPACA_DATA_URL", o.base_url);
  o.key_id = env_or("ALPACA_API_KEY", env_or("ALPACA_PAPER_API_KEY"));
  o.secret_key = env_or("ALPACA_SECRET_KEY", env_or("ALPACA_PAPER_SECRET_KEY"));
  o.feed = env_or("ALPACA_DATA_FEED", o.feed);
  return o;
}
YahooSourceOptions yahoo_options_from_env() {
  YahooSourceOptions o;
  o.base_url = env_or("YAHOO_BASE_URL", o.base_url);
  return o;
}
PolygonSourceOptions polygon_options_from_env() {
  PolygonSourceOptions o;
  o.base_url = env_or("POLYGON_BASE_URL", o.base_url);
  o.api_key = env_or("POLYGON_API_KEY");
  return o;
}

ChainResult SourceChain::fetch(const FetchRequest& request) {
  std::string failures;
  for (const auto& source : sources_) {
    if (!source->has_credentials()) {
      spdlog::info("{}: no credentials, skipped", source->name());
      failures += (failures.empty() ? "" : "; ") + source->name() + ": no credentials";
      continue;
    }
    auto failed = [&](std::string what) {
      if (what.rfind(source->name(), 0) != 0) what = source->name() + ": " + what;
      spdlog::warn("{}: {}; trying the next source", request.ticker, what);
      failures += (failures.empty() ? "" : "; ") + what;
    };
    try {
      return {source->fetch(request), source->name()};
    } catch (const Error& e) {  // SourceError, HttpError, InputError from a malformed timestamp
      failed(e.what());
    } catch (const json::exception& e) {  // a reply of a shape no check of the source foresaw
      failed("malformed response (" + std::string(e.what()) + ")");
    }
  }
  throw SourceError("no source delivered " + request.ticker + " " + std::string(to_string(request.timeframe)) + " " +
                    format_day(request.start) + ".." + format_day(request.end) + ": " +
                    (failures.empty() ? "no sources configured" : failures));
}

SourceChain make_source_chain(HttpClient& http, const std::vector<std::string>& names) {
  SourceChain chain;
  for (const auto& n : names) {
    if (n == "alpaca") {
      chain.add(make_alpaca_source(http, alpaca_options_from_env()));
    } else if (n == "yahoo") {
      chain.add(make_yahoo_source(http, yahoo_options_from_env()));
    } else if (n == "polygon") {
      chain.add(make_polygon_source(http, polygon_options_from_env()));
    } else {
      throw UsageError("unknown data source '" + n + "' (expected alpaca, yahoo or polygon)");
    }
  }
  return chain;
}

}  // namespace ploutos::data
