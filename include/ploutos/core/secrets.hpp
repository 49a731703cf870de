#pragma once
// Secrets come only from the environment or `.env`; their values never reach a log line. Every log
// sink goes through redact(), which replaces each registered secret value and any credential that
// looks like one in a URL query or an auth header.
#include <string>
#include <string_view>
#include <vector>

namespace ploutos {

// True for variable names that hold credentials: *_KEY, *_SECRET, *_SECRET_KEY, *_TOKEN,
// *_PASSWORD, *_USERNAME (the eToro login is as sensitive as a key).
bool is_secret_name(std::string_view name);

// Remembers a value to hide. Values shorter than 4 characters are ignored (they would mangle logs).
void register_secret(std::string_view value);
// Registers the value of every environment variable whose name is_secret_name().
void register_secrets_from_environment();
void clear_registered_secrets();  // tests only

std::string redact(std::string_view text);

struct EnvFileEntry {
  std::string key;
  std::string value;
  int line = 0;
};

// Parses `.env` text: KEY=VALUE lines, optional `export ` prefix, blank lines and `#` comments,
// single quotes (literal), double quotes (\n \t \" \\ escapes), and ` #` comments after unquoted
// values. Throws InputError("<file>:<line>: ...") on a malformed line.
std::vector<EnvFileEntry> parse_env_text(std::string_view text, std::string_view file_name);

struct EnvFileResult {
  std::vector<std::string> set;      // keys taken from the file
  std::vector<std::string> skipped;  // keys already in the environment (the environment wins)
};

// Loads a .env file into the process environment without overriding variables already set, and
// registers secret values for redaction. A missing file is not an error (empty result).
EnvFileResult load_env_file(const std::string& path);

}  // namespace ploutos
