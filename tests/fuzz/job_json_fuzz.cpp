// A job submission's body through JSON parsing and every validation step (fields, type,
// priority, timeout, the type's own payload check) to its answer. The first byte picks the
// query, so that sync, bounded and async submissions are all reached.
#include <cstddef>
#include <cstdint>
#include <string>

#include "app_fixture.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static constexpr const char* targets[] = {"/v1/jobs", "/v1/jobs?wait=true", "/v1/jobs?wait=0.01",
                                            "/v1/jobs?wait=false"};
  auto& f = jobd::fuzz::fixture();
  jobd::server::http_request req{"POST", targets[data[0] % 4],
                                 std::string(reinterpret_cast<const char*>(data) + 1, size - 1),
                                 "fuzz", ""};
  f.routes.handle(std::move(req), jobd::fuzz::write_answer);
  return 0;
}
