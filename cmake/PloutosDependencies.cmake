# Every dependency comes from Debian's archive (scripts/deps.sh installs them).
find_package(Threads REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(spdlog REQUIRED)
find_package(fmt REQUIRED)
find_package(CLI11 REQUIRED)
find_package(date REQUIRED)          # provides date::date and date::date-tz (system tzdb)
find_package(Eigen3 3.4 REQUIRED NO_MODULE)
find_package(CURL REQUIRED)
find_package(SQLiteCpp REQUIRED)   # the order journal
find_package(ZLIB REQUIRED)        # CRC-32 of model files; the browser test decodes PNG with it

# LibTorch: linked into the core library, headers only visible to src/rl (see docs/architecture.md).
# TorchConfig.cmake warns about an unused kineto library on Debian; it is harmless.
find_package(Torch REQUIRED)

if(PLOUTOS_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(PLOUTOS_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()

# cpp-httplib (Debian builds it as a shared library, found through pkg-config): the fake servers
# of the test suite.
if(PLOUTOS_BUILD_TESTS)
  find_package(PkgConfig REQUIRED)
  pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
endif()
