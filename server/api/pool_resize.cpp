#include "server/api/pool_resize.hpp"

#include <nlohmann/json.hpp>

#include "common/json_describe.hpp"
#include "common/json_reader.hpp"

namespace jobd::server {
namespace {

// The largest pool a PATCH may ask for: as many threads as a config may start with.
constexpr std::size_t most_workers = 10'000;

pool_resize refused(std::string code, std::string why) {
  return {.error_code = std::move(code), .error = std::move(why)};
}

}  // namespace

pool_resize read_pool_resize(std::string_view body, std::size_t workers_min,
                             std::size_t workers_max) {
  nlohmann::json j;
  json_reader r(body, "the body");
  if (!r.value(&j) || !r.at_end()) return refused("invalid_json", r.error());
  const std::string rule =
      R"(the body must be an object: {"workers_min": n, "workers_max": m}, either or both)";
  if (!j.is_object())
    return refused("invalid_field", rule + " (got " + describe_json_value(j) + ")");
  pool_resize out{.workers_min = workers_min, .workers_max = workers_max};
  bool any = false;
  for (const auto& [key, value] : j.items()) {
    std::size_t* field = key == "workers_min"   ? &out.workers_min
                         : key == "workers_max" ? &out.workers_max
                                                : nullptr;
    if (field == nullptr) return refused("invalid_field", "unknown field " + key + "; " + rule);
    if (!value.is_number_unsigned() || value.get<std::uint64_t>() < 1 ||
        value.get<std::uint64_t>() > most_workers) {
      return refused("invalid_field", key + " must be an integer from 1 to " +
                                          std::to_string(most_workers) + " (got " +
                                          describe_json_value(value) + ")");
    }
    *field = value.get<std::size_t>();
    any = true;
  }
  if (!any) return refused("invalid_field", rule);
  return out;
}

}  // namespace jobd::server
