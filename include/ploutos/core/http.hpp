#pragma once
// The one HTTP client every module uses (market data now, brokers later): libcurl underneath (not
// in this header), timeouts, retries with exponential backoff and jitter on 429/5xx/timeouts
// (Retry-After honoured), a token-bucket rate limit, and URLs redacted in every log line.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "ploutos/core/error.hpp"
#include "ploutos/core/rng.hpp"

namespace ploutos {

// Transport failure after all retries (connection refused, timeout, DNS) or an exhausted retry budget.
class HttpError : public Error {
 public:
  explicit HttpError(const std::string& message) : Error(message, kExitRuntime) {}
};

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // False for a request that must not take effect twice (opening an eToro position): it is retried
  // only when it surely did not arrive (429, or no connection was made), never after a timeout or
  // a 5xx, whose request may have been carried out.
  bool idempotent = true;
};

struct HttpResponse {
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // names lower-cased
  int attempts = 0;                            // 1 + retries used
};

// Refills `rate` tokens per second up to `burst`; acquire() waits for a token. The clock and the
// sleep are injectable so tests can check the schedule without waiting.
class TokenBucket {
 public:
  using Clock = std::function<double()>;      // seconds, monotonic
  using Sleep = std::function<void(double)>;  // seconds
  TokenBucket(double rate_per_second, double burst, Clock clock = {}, Sleep sleep = {});
  void acquire();

 private:
  double rate_, burst_, tokens_, last_;
  Clock clock_;
  Sleep sleep_;
  std::mutex mutex_;
};

struct HttpClientOptions {
  double timeout_seconds = 10.0;
  int max_retries = 4;
  double backoff_initial_seconds = 0.5;
  double backoff_max_seconds = 30.0;
  double requests_per_second = 0.0;  // 0: no rate limit
  double burst = 1.0;
  std::uint64_t jitter_seed = 0x706c6f75746f73ULL;
  std::string user_agent = "ploutos";
  TokenBucket::Sleep sleep;  // default: std::this_thread::sleep_for; tests record instead
};

class HttpClient {
 public:
  explicit HttpClient(HttpClientOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends with retries. Any status is returned once retries are over (the caller decides what a
  // 4xx means); transport failures that outlast the retries throw HttpError.
  HttpResponse send(const HttpRequest& request);
  HttpResponse get(const std::string& url, std::vector<std::pair<std::string, std::string>> headers = {});

  // Delay before retry number `retry` (0-based): Retry-After if given, else exponential with jitter.
  double retry_delay(int retry, const std::string& retry_after);

 private:
  // `reached`: false when no connection was made (the request surely did not arrive).
  HttpResponse perform_once(const HttpRequest& request, std::string& transport_error, bool& reached);
  HttpClientOptions options_;
  std::unique_ptr<TokenBucket> bucket_;
  Rng jitter_;
  std::mutex jitter_mutex_;
};

// Percent-encodes a query value.
std::string url_encode(std::string_view text);

}  // namespace ploutos
