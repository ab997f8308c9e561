#include "handlers/registry.hpp"

#include <stdexcept>

namespace jobd::handlers {

void registry::add(job_type type) {
  if (!type.run) throw std::invalid_argument("job type '" + type.name + "' has no handler");
  if (type.cheap && type.side_effects) {
    throw std::invalid_argument("job type '" + type.name +
                                "' is cheap but has side effects: its start would not be stored");
  }
  const std::string name = type.name;
  if (!types_.emplace(name, std::move(type)).second) {
    throw std::invalid_argument("job type '" + name + "' is defined twice");
  }
}

const job_type* registry::find(std::string_view name) const {
  auto it = types_.find(name);
  return it == types_.end() ? nullptr : &it->second;
}

std::vector<const job_type*> registry::all() const {
  std::vector<const job_type*> out;
  for (const auto& [name, type] : types_) out.push_back(&type);
  return out;
}

std::string registry::names() const {
  std::string out;
  for (const auto& [name, type] : types_) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

std::string describe(const registry& types) {
  std::map<std::string, std::vector<std::string_view>> by_kind;
  for (const job_type* t : types.all()) by_kind[t->kind].push_back(t->name);
  std::string out;
  for (const auto& [kind, names] : by_kind) {
    if (!out.empty()) out += "; ";
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (i > 0) out += ", ";
      out += names[i];
    }
    out += " (" + kind + ")";
  }
  return out;
}

}  // namespace jobd::handlers
