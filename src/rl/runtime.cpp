#include "ploutos/rl/runtime.hpp"

#include <dlfcn.h>
#include <link.h>
#include <spdlog/spdlog.h>
#include <strings.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <vector>

namespace ploutos::rl {
namespace {

int find_blas(struct dl_phdr_info* info, std::size_t /*size*/, void* data) {
  const std::string name = info->dlpi_name != nullptr ? info->dlpi_name : "";
  if (name.find("libblas.so") != std::string::npos || name.find("libopenblas") != std::string::npos) {
    auto* out = static_cast<std::string*>(data);
    std::error_code ec;
    const auto resolved = std::filesystem::canonical(name, ec);
    *out = ec ? name : resolved.string();
    return 1;
  }
  return 0;
}

constexpr const char* kOverrideMarker = "PLOUTOS_BLAS_CORETYPE_SET";

// The OpenBLAS kernel family in use, or empty when the loaded BLAS is not OpenBLAS.
std::string openblas_kernels() {
  using CoreName = char* (*)();
  const auto fn = reinterpret_cast<CoreName>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  if (fn == nullptr) return {};
  const char* name = fn();
  return name != nullptr ? std::string(name) : std::string();
}

// OpenBLAS kernel families that use neither AVX2 nor AVX-512.
bool lacks_avx2(const std::string& kernels) {
  static constexpr std::array<const char*, 19> kOld = {
      "Prescott",   "Katmai",    "Coppermine", "Northwood",   "Banias",  "Core2",        "Penryn",
      "Dunnington", "Nehalem",   "Atom",       "Sandybridge", "Opteron", "Opteron_SSE3", "Barcelona",
      "Bobcat",     "Bulldozer", "Piledriver", "Steamroller", "Nano"};
  for (const char* old : kOld) {
    if (strcasecmp(kernels.c_str(), old) == 0) return true;
  }
  return false;
}

// OpenBLAS kernel families that use AVX-512.
bool uses_avx512(const std::string& kernels) {
  static constexpr std::array<const char*, 3> kWide = {"SkylakeX", "Cooperlake", "SapphireRapids"};
  for (const char* wide : kWide) {
    if (strcasecmp(kernels.c_str(), wide) == 0) return true;
  }
  return false;
}

bool cpu_has_avx2_fma() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

bool cpu_has_avx512() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
}

// A user's OPENBLAS_CORETYPE is obeyed (ensure_fast_blas_kernels leaves it alone), but one that
// gives away the CPU's widest vector units is said: on an AMD EPYC Zen 5 host whose environment set
// Haswell, the GEMM reference ran at 202 GFLOP/s against 366 with OpenBLAS's own choice, and a V6
// training iteration took 1.9x as long (docs/training.md).
std::string kernels_warning(const std::string& kernels, bool overridden) {
  const char* forced = std::getenv("OPENBLAS_CORETYPE");
  if (kernels.empty() || overridden || forced == nullptr) return {};
  const bool avx512 = cpu_has_avx512();
  const char* units = nullptr;
  if (avx512 && !uses_avx512(kernels)) {
    units = "AVX-512";
  } else if (cpu_has_avx2_fma() && lacks_avx2(kernels)) {
    units = "AVX2";
  }
  if (units == nullptr) return {};
  return std::string("OPENBLAS_CORETYPE=") + forced + " (from the environment) runs OpenBLAS's " + kernels +
         " kernels on a CPU with " + units +
         ": training's products run up to ~2x slower; unset it to let OpenBLAS choose" +
         (avx512 ? ", or set OPENBLAS_CORETYPE=SkylakeX" : "");
}

}  // namespace

void ensure_fast_blas_kernels(char** argv) {
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr || std::getenv(kOverrideMarker) != nullptr) return;
  const auto kernels = openblas_kernels();
  if (kernels.empty() || !lacks_avx2(kernels)) return;
  if (!cpu_has_avx2_fma()) return;
  setenv("OPENBLAS_CORETYPE", cpu_has_avx512() ? "SkylakeX" : "Haswell", 1);
  setenv(kOverrideMarker, kernels.c_str(), 1);
  execv("/proc/self/exe", argv);
  // exec failed (no /proc): carry on with the slow kernels rather than not at all.
  unsetenv("OPENBLAS_CORETYPE");
}

TorchRuntime torch_runtime() {
  TorchRuntime info;
  info.torch_version = std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
                       std::to_string(TORCH_VERSION_PATCH);
  info.threads = at::get_num_threads();
  dl_iterate_phdr(find_blas, &info.blas_library);
  info.blas_kernels = openblas_kernels();
  info.blas_is_openblas = !info.blas_kernels.empty() || info.blas_library.find("openblas") != std::string::npos;
  info.blas_kernels_overridden = std::getenv(kOverrideMarker) != nullptr;
  info.blas_kernels_warning = kernels_warning(info.blas_kernels, info.blas_kernels_overridden);
  return info;
}

void warn_about_slow_blas_kernels() {
  static std::once_flag once;
  std::call_once(once, [] {
    const auto warning = torch_runtime().blas_kernels_warning;
    if (!warning.empty()) spdlog::warn("{}", warning);
  });
}

void set_torch_threads(int threads) {
  if (threads > 0) at::set_num_threads(threads);
}

namespace {

// OpenBLAS's own thread count (0 when the loaded BLAS is not OpenBLAS), and setting it.
int blas_threads() {
  using Get = int (*)();
  static const auto get = reinterpret_cast<Get>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  return get != nullptr ? get() : 0;
}

void set_blas_threads(int threads) {
  using Set = void (*)(int);
  static const auto set = reinterpret_cast<Set>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (set != nullptr && threads > 0) set(threads);
}

// C[m x n] = A[m x k] B[k x n] in float through LibTorch's BLAS into a preallocated C, `repeats`
// times after a warm-up; GFLOP/s of the best and of the median repeat.
GemmRate gemm_gflops(std::int64_t m, std::int64_t n, std::int64_t k, int repeats) {
  torch::NoGradGuard no_grad;
  const auto a = torch::rand({m, k});
  const auto b = torch::rand({k, n});
  auto c = torch::empty({m, n});
  at::mm_out(c, a, b);  // warm-up: BLAS threads started, pages touched
  std::vector<double> rates;
  for (int i = 0; i < repeats; ++i) {
    const auto start = std::chrono::steady_clock::now();
    at::mm_out(c, a, b);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    rates.push_back(2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k) / seconds / 1e9);
  }
  std::sort(rates.begin(), rates.end());
  const std::size_t half = rates.size() / 2;
  return {rates.back(), rates.size() % 2 == 1 ? rates[half] : (rates[half - 1] + rates[half]) / 2};
}

}  // namespace

ScopedBlasThreads::ScopedBlasThreads(int threads) : saved_(threads > 0 ? blas_threads() : 0) {
  if (saved_ > 0) set_blas_threads(threads);
}

ScopedBlasThreads::~ScopedBlasThreads() {
  if (saved_ > 0) set_blas_threads(saved_);
}

GemmRate machine_gemm_rate() {
  GemmRate fastest;
  for (const GemmRate& shape :
       {gemm_gflops(1024, 1024, 1024, 10), gemm_gflops(2048, 2048, 2048, 4), gemm_gflops(8192, 1024, 1173, 3)}) {
    if (shape.best > fastest.best) fastest = shape;
  }
  return fastest;
}

double machine_gemm_gflops() {
  return machine_gemm_rate().best;
}

double torch_matmul_gflops(int n, int repeats) {
  torch::NoGradGuard no_grad;
  const auto a = torch::rand({n, n});
  const auto b = torch::rand({n, n});
  auto c = torch::mm(a, b);  // warm-up
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < repeats; ++i) c = torch::mm(a, b);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return 2.0 * n * static_cast<double>(n) * n * repeats / seconds / 1e9;
}

}  // namespace ploutos::rl
