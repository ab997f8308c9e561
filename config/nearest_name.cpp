#include "config/nearest_name.hpp"

#include <algorithm>
#include <cstddef>
#include <vector>

namespace jobd::config {
namespace {

// Edits (insert, delete, replace, swap of neighbours) from a to b: the optimal string alignment
// distance, in three rows of b's length.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> before(b.size() + 1), previous(b.size() + 1), row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) previous[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t replace = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      row[j] = std::min({previous[j] + 1, row[j - 1] + 1, replace});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        row[j] = std::min(row[j], before[j - 2] + 1);
      }
    }
    std::swap(before, previous);
    std::swap(previous, row);
  }
  return previous[b.size()];
}

}  // namespace

std::string_view nearest_name(std::string_view given, std::span<const std::string_view> known) {
  const std::size_t allowed = std::max<std::size_t>(1, given.size() / 4);
  std::string_view best;
  std::size_t best_distance = allowed + 1;
  for (const std::string_view name : known) {
    const std::size_t d = edit_distance(given, name);
    if (d < best_distance) {
      best = name;
      best_distance = d;
    }
  }
  if (!best.empty()) return best;
  // A name given without its unit or part ("timeout" for "timeout_ms").
  for (const std::string_view name : known) {
    if (name.size() > given.size() && name.starts_with(given) && name[given.size()] == '_') {
      return name;
    }
  }
  return {};
}

}  // namespace jobd::config
