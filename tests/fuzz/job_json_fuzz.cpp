// A job submission's body through JSON parsing and every validation step (fields, type,
// priority, timeout, the type's own payload check) to its answer. The first byte picks the
// query, so that sync, bounded and async submissions are all reached. The body reader is also
// checked against a reference written on nlohmann's parser: they must agree on every input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "../server/submit_body_reference.hpp"
#include "app_fixture.hpp"
#include "server/api/submit_body.hpp"

namespace {

// Agreement on the verdict, and on everything read from a body that is taken.
bool agrees(const std::string& body, const jobd::server::submit_limits& limits) {
  using jobd::server::submit_body;
  const submit_body got = jobd::server::read_submit_body(body, limits);
  const submit_body want = jobd::server::reference_reader(body, limits);
  if (got.error_code != want.error_code || got.priority != want.priority) return false;
  if (got.error_code == "invalid_json") return true;  // each words a syntax error its own way
  if (got.error_message != want.error_message) return false;
  if (!got.error_code.empty()) return true;
  const auto parsed = nlohmann::json::parse(body);
  const auto payload = parsed.find("payload");
  const nlohmann::json want_payload = payload == parsed.end() ? nlohmann::json() : *payload;
  const nlohmann::json got_payload = payload_of(got);
  return got.type == want.type && got.timeout == want.timeout &&
         got.max_attempts == want.max_attempts && got.retry_backoff == want.retry_backoff &&
         got.run_at == want.run_at && got.delay == want.delay &&
         got.callback_url == want.callback_url && got.concurrency_key == want.concurrency_key &&
         got_payload == want_payload && got_payload.type() == want_payload.type();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static constexpr const char* targets[] = {"/v1/jobs", "/v1/jobs?wait=true", "/v1/jobs?wait=0.01",
                                            "/v1/jobs?wait=false"};
  auto& f = jobd::fuzz::fixture();
  const std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (!agrees(body, {.max_timeout = f.settings.max_timeout,
                     .max_attempts = f.settings.max_attempts_limit,
                     .max_backoff = f.settings.retry_backoff_max,
                     .max_delay = f.settings.max_schedule})) {
    std::abort();
  }
  f.handle({"POST", targets[data[0] % 4], body, ""});
  return 0;
}
