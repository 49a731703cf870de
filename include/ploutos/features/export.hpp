#pragma once
// Feature export: one CSV row per (ticker, bar), columns named as in docs/features.md.
#include <string>
#include <vector>

#include "ploutos/features/engine.hpp"

namespace ploutos::features {

// Header `ticker,date|timestamp,valid,<names...>`; values as the shortest text of the float.
std::string to_csv(const std::vector<FeatureMatrix>& matrices, bool daily);

// The feature list as a Markdown table (name | definition), for docs/features.md.
std::string to_markdown(const std::vector<FeatureInfo>& features);

}  // namespace ploutos::features
