#pragma once
#include <string_view>

namespace ploutos {
std::string_view version();       // semantic version of this build, e.g. 0.1.0
std::string_view git_revision();  // short commit id at configure time ("-dirty" with local changes)
std::string_view build_type();    // CMake build type
}  // namespace ploutos
