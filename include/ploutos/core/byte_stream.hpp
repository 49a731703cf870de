#pragma once
// Plain values written one after another, and read back with bounds checks: the environments'
// state inside a model file, so that a resumed training continues its episodes. Each field is
// written on its own (never a struct with its padding), so equal states give equal bytes.
#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "ploutos/core/error.hpp"

namespace ploutos {

static_assert(std::endian::native == std::endian::little, "byte streams are written little-endian");

class ByteWriter {
 public:
  template <class T>
  requires std::is_arithmetic_v<T>
  void put(T value) {
    char raw[sizeof(T)];
    std::memcpy(raw, &value, sizeof(T));
    bytes_.append(raw, sizeof(T));
  }
  template <class T>
  requires std::is_arithmetic_v<T>
  void put(const std::vector<T>& values) {
    put<std::uint64_t>(values.size());
    bytes_.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
  }
  void put(std::string_view text) {
    put<std::uint64_t>(text.size());
    bytes_.append(text);
  }
  const std::string& bytes() const { return bytes_; }

 private:
  std::string bytes_;
};

// `what` names the record in errors: "data/models/x.pt: env_state: truncated at byte 120".
class ByteReader {
 public:
  ByteReader(std::string_view bytes, std::string what) : bytes_(bytes), what_(std::move(what)) {}

  template <class T>
  requires std::is_arithmetic_v<T> T get() {
    T value;
    std::memcpy(&value, take(sizeof(T)), sizeof(T));
    return value;
  }
  template <class T>
  requires std::is_arithmetic_v<T>
  void get(std::vector<T>& values, std::size_t max_size) {
    const auto n = get<std::uint64_t>();
    if (n > max_size) fail("a list of " + std::to_string(n) + " values, at most " + std::to_string(max_size) + " fit");
    values.resize(n);
    if (n > 0) std::memcpy(values.data(), take(n * sizeof(T)), n * sizeof(T));
  }
  std::string get_string() {
    const auto n = get<std::uint64_t>();
    if (n > bytes_.size()) fail("a text of " + std::to_string(n) + " bytes");
    return std::string(take(n), n);
  }
  void expect_end() const {
    if (at_ != bytes_.size()) fail(std::to_string(bytes_.size() - at_) + " bytes left over");
  }
  [[noreturn]] void fail(const std::string& problem) const {
    throw InputError(what_ + ": " + problem + " at byte " + std::to_string(at_));
  }

 private:
  const char* take(std::size_t n) {
    if (n > bytes_.size() - at_) fail("truncated");
    const char* p = bytes_.data() + at_;
    at_ += n;
    return p;
  }
  std::string_view bytes_;
  std::string what_;
  std::size_t at_ = 0;
};

}  // namespace ploutos
