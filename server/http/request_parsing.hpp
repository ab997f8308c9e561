#pragma once

// Small parsers for what arrives in a request: the query string, the `wait` parameter, and the
// body as JSON (nesting bounded as it is read: see common/json_limits.hpp for why).

#include <chrono>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/json_limits.hpp"

namespace jobd::server {

// The first value of `key` in a query string such as "a=1&b=x%20y", decoded ("" for a bare
// "key"); nullopt when absent. `malformed` when any part of the query has a bad %-escape.
struct query_param {
  bool malformed = false;
  std::optional<std::string> value;
};
query_param find_query_param(std::string_view query, std::string_view key);

// The first parameter of `query` whose name is none of `known`, as sent; nullopt when there is
// none. A misspelt `wait` would otherwise turn a synchronous call into an asynchronous one.
std::optional<std::string> unknown_query_param(std::string_view query,
                                               std::initializer_list<std::string_view> known);

// The 400 message for it: the name and the names the route knows.
std::string unknown_param_refusal(const std::string& name,
                                  std::initializer_list<std::string_view> known);

// wait=true -> wait for the job's end (nullopt duration, `wanted`); wait=false or absent -> none;
// wait=N -> at most N seconds (decimal allowed), 0 < N <= max.
struct wait_spec {
  bool wanted = false;
  std::optional<std::chrono::milliseconds> limit;  // empty: until the job ends
};
std::optional<wait_spec> parse_wait(const std::optional<std::string>& value,
                                    std::chrono::milliseconds max);

}  // namespace jobd::server
