// A job submission's body through JSON parsing and every validation step (fields, type,
// priority, timeout, the type's own payload check) to its answer. The first byte picks the
// query, so that sync, bounded and async submissions are all reached. The body's fast reader is
// also checked against the reader through a whole document: they must agree on every input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "app_fixture.hpp"
#include "server/submit_body.hpp"

namespace {

bool same(jobd::server::submit_body a, jobd::server::submit_body b) {
  const auto pa = jobd::server::take_payload(a);
  const auto pb = jobd::server::take_payload(b);
  return a.type == b.type && pa == pb && pa.is_number_unsigned() == pb.is_number_unsigned() &&
         a.priority == b.priority && a.timeout == b.timeout && a.error_code == b.error_code &&
         a.error_message == b.error_message;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static constexpr const char* targets[] = {"/v1/jobs", "/v1/jobs?wait=true", "/v1/jobs?wait=0.01",
                                            "/v1/jobs?wait=false"};
  auto& f = jobd::fuzz::fixture();
  const std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
  const auto max_timeout = f.settings.max_timeout;
  if (!same(jobd::server::read_submit_body(body, max_timeout),
            jobd::server::read_submit_body_fully(body, max_timeout))) {
    std::abort();
  }
  f.routes.handle({"POST", targets[data[0] % 4], body, ""}, jobd::fuzz::write_answer());
  return 0;
}
