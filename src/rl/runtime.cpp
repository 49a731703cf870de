#include "ploutos/rl/runtime.hpp"

#include <link.h>
#include <torch/torch.h>

#include <chrono>
#include <filesystem>

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

}  // namespace

TorchRuntime torch_runtime() {
  TorchRuntime info;
  info.torch_version = std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
                       std::to_string(TORCH_VERSION_PATCH);
  info.threads = at::get_num_threads();
  dl_iterate_phdr(find_blas, &info.blas_library);
  info.blas_is_openblas = info.blas_library.find("openblas") != std::string::npos;
  return info;
}

void set_torch_threads(int threads) {
  if (threads > 0) at::set_num_threads(threads);
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
