#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <thread>
#include <vector>

#include "../support/fake_server.hpp"
#include "ploutos/core/http.hpp"
#include "ploutos/core/secrets.hpp"

using namespace ploutos;
using ploutos::test::FakeServer;

namespace {
// Records the waits instead of sleeping, so retry schedules are checked exactly and quickly.
struct SleepLog {
  std::vector<double> waits;
  TokenBucket::Sleep fn() {
    return [this](double s) { waits.push_back(s); };
  }
};
}  // namespace

TEST(Http, RetriesA500ThenSucceeds) {
  FakeServer fake;
  std::atomic<int> calls{0};
  fake.server().Get("/flaky", [&](const httplib::Request&, httplib::Response& res) {
    if (calls++ == 0) {
      res.status = 500;
      return;
    }
    res.set_content("ok", "text/plain");
  });
  fake.start();
  SleepLog log;
  HttpClientOptions o;
  o.sleep = log.fn();
  HttpClient http(o);
  const auto r = http.get(fake.url() + "/flaky");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ok");
  EXPECT_EQ(r.attempts, 2);
  ASSERT_EQ(log.waits.size(), 1u);
  EXPECT_GE(log.waits[0], 0.25);  // half of the 0.5 s initial backoff at least (jitter)
  EXPECT_LE(log.waits[0], 0.5);
}

TEST(Http, Honours429RetryAfterAndGivesUpAfterTheBudget) {
  FakeServer fake;
  std::atomic<int> calls{0};
  fake.server().Get("/limited", [&](const httplib::Request&, httplib::Response& res) {
    ++calls;
    res.status = 429;
    res.set_header("Retry-After", "3");
  });
  fake.start();
  SleepLog log;
  HttpClientOptions o;
  o.sleep = log.fn();
  o.max_retries = 2;
  HttpClient http(o);
  const auto r = http.get(fake.url() + "/limited");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(calls.load(), 3);
  EXPECT_EQ(log.waits, (std::vector<double>{3.0, 3.0}));
}

TEST(Http, ClientErrorsAreNotRetried) {
  FakeServer fake;
  std::atomic<int> calls{0};
  fake.server().Get("/missing", [&](const httplib::Request&, httplib::Response& res) {
    ++calls;
    res.status = 404;
  });
  fake.start();
  HttpClient http;
  EXPECT_EQ(http.get(fake.url() + "/missing").status, 404);
  EXPECT_EQ(calls.load(), 1);
}

TEST(Http, TimeoutsAreRetriedThenRaisedWithTheUrlRedacted) {
  FakeServer fake;
  std::atomic<int> calls{0};
  fake.server().Get("/slow", [&](const httplib::Request&, httplib::Response& res) {
    ++calls;
    std::this_thread::sleep_for(std::chrono::milliseconds(800));
    res.set_content("late", "text/plain");
  });
  fake.start();
  SleepLog log;
  HttpClientOptions o;
  o.sleep = log.fn();
  o.timeout_seconds = 0.2;
  o.max_retries = 1;
  HttpClient http(o);
  try {
    http.get(fake.url() + "/slow?apiKey=topsecretkey");
    FAIL() << "expected a timeout";
  } catch (const HttpError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("apiKey=***"), std::string::npos) << what;
    EXPECT_EQ(what.find("topsecretkey"), std::string::npos) << what;
    EXPECT_NE(what.find("after 2 attempts"), std::string::npos) << what;
  }
  EXPECT_EQ(log.waits.size(), 1u);
}

// Opening an eToro position twice would buy twice: such a request is repeated only when it cannot
// have been carried out (429, or no connection at all), never after a timeout or a 5xx.
TEST(Http, ARequestThatMustNotRunTwiceIsRetriedOnlyWhenItSurelyDidNotArrive) {
  FakeServer fake;
  std::atomic<int> slow{0}, failing{0}, limited{0};
  fake.server().Post("/slow", [&](const httplib::Request&, httplib::Response& res) {
    ++slow;
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
    res.set_content("late", "text/plain");
  });
  fake.server().Post("/failing", [&](const httplib::Request&, httplib::Response& res) {
    ++failing;
    res.status = 500;
  });
  fake.server().Post("/limited", [&](const httplib::Request&, httplib::Response& res) {
    if (limited++ == 0) {
      res.status = 429;
      return;
    }
    res.set_content("ok", "text/plain");
  });
  fake.start();
  SleepLog log;
  HttpClientOptions o;
  o.sleep = log.fn();
  o.timeout_seconds = 0.2;
  o.max_retries = 3;
  HttpClient http(o);
  auto once = [&](const std::string& path) {
    HttpRequest r;
    r.method = "POST";
    r.url = fake.url() + path;
    r.body = "{}";
    r.idempotent = false;
    return http.send(r);
  };
  EXPECT_THROW(once("/slow"), HttpError);
  EXPECT_EQ(slow.load(), 1) << "a timed-out request may have been carried out";
  EXPECT_EQ(once("/failing").status, 500);
  EXPECT_EQ(failing.load(), 1) << "so may one answered with a 5xx";
  EXPECT_EQ(once("/limited").status, 200);
  EXPECT_EQ(limited.load(), 2) << "a 429 was refused, not carried out";
  EXPECT_EQ(log.waits.size(), 1u);
  int port = 0;
  {
    FakeServer gone;
    gone.start();
    port = gone.port();
  }
  HttpRequest refused;
  refused.method = "POST";
  refused.url = "http://127.0.0.1:" + std::to_string(port) + "/";
  refused.idempotent = false;
  EXPECT_THROW(http.send(refused), HttpError);
  EXPECT_EQ(log.waits.size(), 4u) << "no connection: retried, it never arrived";
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the slow handler ends before the server
}

TEST(Http, ConnectionRefusedIsAnHttpError) {
  int port = 0;
  {
    FakeServer fake;
    fake.start();
    port = fake.port();
  }
  HttpClientOptions o;
  o.max_retries = 0;
  HttpClient http(o);
  EXPECT_THROW(http.get("http://127.0.0.1:" + std::to_string(port) + "/"), HttpError);
}

TEST(Http, TokenBucketSpacesRequestsAtTheConfiguredRate) {
  double now = 0;
  std::vector<double> waits;
  TokenBucket bucket(
      5.0, 2.0, [&] { return now; },
      [&](double s) {
        waits.push_back(s);
        now += s;
      });
  for (int i = 0; i < 10; ++i) bucket.acquire();
  // Two requests ride the burst; the other eight wait 1/5 s each.
  EXPECT_EQ(waits.size(), 8u);
  EXPECT_NEAR(now, 8 * 0.2, 1e-9);
  now += 10;  // idle: the bucket refills to its burst, no more
  waits.clear();
  for (int i = 0; i < 3; ++i) bucket.acquire();
  EXPECT_EQ(waits.size(), 1u);
}

TEST(Http, RetryDelaysGrowExponentiallyWithBoundedJitterAndAreSeeded) {
  HttpClient a, b;
  for (int retry = 0; retry < 6; ++retry) {
    const double base = std::min(30.0, 0.5 * std::pow(2.0, retry));
    const double d = a.retry_delay(retry, "");
    EXPECT_GE(d, base * 0.5);
    EXPECT_LE(d, base);
    EXPECT_EQ(d, b.retry_delay(retry, ""));  // same seed, same schedule
  }
  EXPECT_EQ(a.retry_delay(0, "120"), 30.0);  // capped
  EXPECT_EQ(url_encode("a b&c/é"), "a%20b%26c%2F%C3%A9");
}
