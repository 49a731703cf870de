#include "ploutos/core/http.hpp"

#include <curl/curl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <thread>

#include "ploutos/core/secrets.hpp"

namespace ploutos {
namespace {

double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void real_sleep(double seconds) {
  if (seconds > 0) std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
}

struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
  ~CurlGlobal() { curl_global_cleanup(); }
};

std::size_t write_body(char* data, std::size_t size, std::size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

std::size_t write_header(char* data, std::size_t size, std::size_t count, void* user) {
  const std::string_view line(data, size * count);
  const auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
      value.remove_suffix(1);
    (*static_cast<std::map<std::string, std::string>*>(user))[name] = std::string(value);
  }
  return size * count;
}

bool retryable_status(long status) {
  return status == 429 || (status >= 500 && status <= 599);
}

}  // namespace

TokenBucket::TokenBucket(double rate_per_second, double burst, Clock clock, Sleep sleep)
    : rate_(rate_per_second),
      burst_(std::max(1.0, burst)),
      tokens_(std::max(1.0, burst)),
      clock_(clock ? std::move(clock) : Clock(steady_seconds)),
      sleep_(sleep ? std::move(sleep) : Sleep(real_sleep)) {
  last_ = clock_();
}

void TokenBucket::acquire() {
  std::lock_guard lock(mutex_);
  const double now = clock_();
  tokens_ = std::min(burst_, tokens_ + (now - last_) * rate_);
  last_ = now;
  if (tokens_ < 1.0) {
    const double wait = (1.0 - tokens_) / rate_;
    sleep_(wait);
    tokens_ = 1.0;
    last_ = clock_();
  }
  tokens_ -= 1.0;
}

HttpClient::HttpClient(HttpClientOptions options) : options_(std::move(options)), jitter_(options_.jitter_seed) {
  static CurlGlobal global;
  if (!options_.sleep) options_.sleep = real_sleep;
  if (options_.requests_per_second > 0) {
    bucket_ = std::make_unique<TokenBucket>(options_.requests_per_second, options_.burst, TokenBucket::Clock{},
                                            options_.sleep);
  }
}

HttpClient::~HttpClient() = default;

double HttpClient::retry_delay(int retry, const std::string& retry_after) {
  if (!retry_after.empty()) {
    char* end = nullptr;
    const double seconds = std::strtod(retry_after.c_str(), &end);
    if (end != retry_after.c_str() && seconds >= 0) return std::min(seconds, options_.backoff_max_seconds);
  }
  const double base = std::min(options_.backoff_max_seconds, options_.backoff_initial_seconds * std::pow(2.0, retry));
  std::lock_guard lock(jitter_mutex_);
  return base * jitter_.uniform(0.5, 1.0);  // "equal jitter": never less than half the backoff
}

HttpResponse HttpClient::perform_once(const HttpRequest& request, std::string& transport_error, bool& reached) {
  HttpResponse response;
  CURL* curl = curl_easy_init();
  if (curl == nullptr) throw HttpError("libcurl initialisation failed");
  curl_slist* headers = nullptr;
  for (const auto& [name, value] : request.headers) headers = curl_slist_append(headers, (name + ": " + value).c_str());
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  if (!request.body.empty()) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(request.body.size()));
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout_seconds * 1000));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::min(options_.timeout_seconds, 10.0) * 1000));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(curl, CURLOPT_USERAGENT, options_.user_agent.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, write_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &response.headers);
  const CURLcode code = curl_easy_perform(curl);
  if (code == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  } else {
    transport_error = curl_easy_strerror(code);
  }
  reached = code != CURLE_COULDNT_CONNECT && code != CURLE_COULDNT_RESOLVE_HOST && code != CURLE_COULDNT_RESOLVE_PROXY;
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return response;
}

HttpResponse HttpClient::send(const HttpRequest& request) {
  const std::string shown = redact(request.url);
  for (int attempt = 0;; ++attempt) {
    if (bucket_) bucket_->acquire();
    std::string transport_error;
    bool reached = true;
    HttpResponse response = perform_once(request, transport_error, reached);
    response.attempts = attempt + 1;
    const bool transport_failed = !transport_error.empty();
    if (!transport_failed && !retryable_status(response.status)) {
      spdlog::debug("{} {} -> {} ({} bytes, attempt {})", request.method, shown, response.status, response.body.size(),
                    attempt + 1);
      return response;
    }
    const std::string what = transport_failed ? transport_error : "HTTP " + std::to_string(response.status);
    const bool surely_not_done = transport_failed ? !reached : response.status == 429;
    if (attempt >= options_.max_retries || (!request.idempotent && !surely_not_done)) {
      if (transport_failed) {
        throw HttpError(request.method + " " + shown + ": " + what + " (after " + std::to_string(attempt + 1) +
                        " attempts)");
      }
      spdlog::warn("{} {} -> {} after {} attempts; giving up", request.method, shown, what, attempt + 1);
      return response;
    }
    const auto retry_after = response.headers.find("retry-after");
    const double delay = retry_delay(attempt, retry_after == response.headers.end() ? "" : retry_after->second);
    spdlog::info("{} {} -> {}; retry {}/{} in {:.2f} s", request.method, shown, what, attempt + 1, options_.max_retries,
                 delay);
    options_.sleep(delay);
  }
}

HttpResponse HttpClient::get(const std::string& url, std::vector<std::pair<std::string, std::string>> headers) {
  return send(HttpRequest{"GET", url, std::move(headers), ""});
}

std::string url_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace ploutos
