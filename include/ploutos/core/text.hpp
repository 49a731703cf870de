#pragma once
// "Did you mean" for names a user typed: config keys, command-line options.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace ploutos {

// Levenshtein distance: insertions, deletions and substitutions of one character each.
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate nearest to `word`, at most `max_distance` edits away (the first of equals), or ""
// when none is that near.
std::string nearest(std::string_view word, const std::vector<std::string>& candidates, std::size_t max_distance);

}  // namespace ploutos
