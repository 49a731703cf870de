#include <spdlog/spdlog.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "ploutos/core/json_text.hpp"
#include "ploutos/core/version.hpp"
#include "ploutos/rl/runtime.hpp"

namespace ploutos::cli {

void add_version_command(CLI::App& app, Globals& globals) {
  auto* cmd = app.add_subcommand("version", "Version, git revision, LibTorch and the BLAS it actually loaded");
  cmd->footer("Examples:\n  ploutos version\n  ploutos version --json");
  cmd->callback([&globals] {
    globals.action = [&globals]() -> int {
      const auto torch = rl::torch_runtime();
      if (globals.json) {
        nlohmann::ordered_json j{{"version", version()},
                                 {"git_revision", git_revision()},
                                 {"build_type", build_type()},
                                 {"torch_version", torch.torch_version},
                                 {"torch_threads", torch.threads},
                                 {"blas_library", torch.blas_library},
                                 {"blas_is_openblas", torch.blas_is_openblas},
                                 {"blas_kernels", torch.blas_kernels},
                                 {"blas_kernels_overridden", torch.blas_kernels_overridden},
                                 {"blas_kernels_warning", torch.blas_kernels_warning}};
        std::cout << json_text(j, 2) << "\n";
      } else {
        std::cout << "ploutos " << version() << " (" << git_revision() << ", " << build_type() << ")\n"
                  << "  LibTorch " << torch.torch_version << ", " << torch.threads << " threads\n"
                  << "  BLAS     " << (torch.blas_library.empty() ? "(not loaded)" : torch.blas_library) << "\n";
        if (!torch.blas_kernels.empty()) {
          std::cout << "  kernels  OpenBLAS " << torch.blas_kernels
                    << (torch.blas_kernels_overridden
                            ? " (set by ploutos: OpenBLAS did not recognise this CPU and chose slower kernels)"
                            : "")
                    << "\n";
        }
      }
      if (!torch.blas_kernels_warning.empty()) spdlog::warn("{}", torch.blas_kernels_warning);
      if (!torch.blas_is_openblas) {
        spdlog::warn(
            "libblas.so.3 is not OpenBLAS: LibTorch runs ~25x slower. Install libopenblas0-pthread "
            "(scripts/deps.sh does) and select it with update-alternatives");
      }
      return 0;
    };
  });
}

}  // namespace ploutos::cli
