#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "ploutos/core/error.hpp"
#include "ploutos/core/secrets.hpp"

using namespace ploutos;

TEST(Secrets, NamesThatHoldCredentials) {
  EXPECT_TRUE(is_secret_name("ALPACA_API_KEY"));
  EXPECT_TRUE(is_secret_name("ALPACA_SECRET_KEY"));
  EXPECT_TRUE(is_secret_name("ETORO_PASSWORD"));
  EXPECT_TRUE(is_secret_name("ETORO_USERNAME"));
  EXPECT_TRUE(is_secret_name("POLYGON_API_KEY"));
  EXPECT_FALSE(is_secret_name("BROKER"));
  EXPECT_FALSE(is_secret_name("PLOUTOS_LOG_LEVEL"));
}

TEST(Secrets, RedactsRegisteredValuesAndLabelledCredentials) {
  clear_registered_secrets();
  register_secret("PKTEST1234SECRET");
  EXPECT_EQ(redact("key=PKTEST1234SECRET in header"), "key=*** in header");
  EXPECT_EQ(redact("GET https://api.polygon.io/v2/aggs?adjusted=true&apiKey=abc123def&limit=5"),
            "GET https://api.polygon.io/v2/aggs?adjusted=true&apiKey=***&limit=5");
  EXPECT_EQ(redact("APCA-API-SECRET-KEY: s3cr3t-value"), "APCA-API-SECRET-KEY: ***");
  EXPECT_EQ(redact("Authorization: Bearer eyJhbGciOi"), "Authorization: Bearer ***");
  EXPECT_EQ(redact("nothing to hide"), "nothing to hide");
  register_secret("abc");  // too short to redact safely
  EXPECT_EQ(redact("abc"), "abc");
  clear_registered_secrets();
}

TEST(EnvFile, ParsesCommentsQuotesAndExport) {
  const auto entries = parse_env_text(
      "# comment\n"
      "\n"
      "BROKER=alpaca\n"
      "export ALPACA_API_KEY = PK123 # trailing comment\n"
      "QUOTED=\"a b # not a comment\\n\"\n"
      "SINGLE='raw \\n value'\r\n"
      "EMPTY=\n",
      ".env");
  ASSERT_EQ(entries.size(), 5u);
  EXPECT_EQ(entries[0].key, "BROKER");
  EXPECT_EQ(entries[0].value, "alpaca");
  EXPECT_EQ(entries[1].key, "ALPACA_API_KEY");
  EXPECT_EQ(entries[1].value, "PK123");
  EXPECT_EQ(entries[1].line, 4);
  EXPECT_EQ(entries[2].value, "a b # not a comment\n");
  EXPECT_EQ(entries[3].value, "raw \\n value");
  EXPECT_EQ(entries[4].value, "");
}

TEST(EnvFile, MalformedLinesNameFileAndLine) {
  try {
    parse_env_text("A=1\nthis is not an assignment\n", "/tmp/x.env");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "/tmp/x.env:2: expected KEY=VALUE");
  }
  EXPECT_THROW(parse_env_text("A=\"open\n", ".env"), InputError);
  EXPECT_THROW(parse_env_text("1BAD=x\n", ".env"), InputError);
}

TEST(EnvFile, NeverOverridesTheEnvironmentAndRegistersSecrets) {
  clear_registered_secrets();
  const auto path = std::filesystem::temp_directory_path() / ("ploutos_env_" + std::to_string(::getpid()));
  {
    std::ofstream out(path);
    out << "PLOUTOS_TEST_PRESET=from_file\nPLOUTOS_TEST_NEW=from_file\nPLOUTOS_TEST_API_KEY=verysecretvalue\n";
  }
  ::setenv("PLOUTOS_TEST_PRESET", "from_env", 1);
  ::unsetenv("PLOUTOS_TEST_NEW");
  ::unsetenv("PLOUTOS_TEST_API_KEY");
  const auto result = load_env_file(path.string());
  EXPECT_STREQ(std::getenv("PLOUTOS_TEST_PRESET"), "from_env");
  EXPECT_STREQ(std::getenv("PLOUTOS_TEST_NEW"), "from_file");
  EXPECT_EQ(result.skipped, std::vector<std::string>{"PLOUTOS_TEST_PRESET"});
  EXPECT_EQ(redact("token verysecretvalue"), "token ***");
  EXPECT_TRUE(load_env_file("/nonexistent/.env").set.empty());
  std::filesystem::remove(path);
  clear_registered_secrets();
}
