#include "server/http/http_types.hpp"

#include "common/json_writer.hpp"

namespace jobd::server {

// On the path of every refusal, the answer to most requests under overload: written straight
// out, the values through the one escaper.
http_response error_response(unsigned status, std::string_view code, std::string_view message,
                             bool plain_message) {
  using namespace std::string_view_literals;
  http_response r;
  r.status = status;
  r.body.reserve(40 + code.size() + message.size());
  r.body += R"({"error":{"code":)"sv;
  append_json_string(r.body, code);
  r.body += R"(,"message":)"sv;
  if (plain_message) {
    append_json_plain(r.body, message);
  } else {
    append_json_string(r.body, message);
  }
  r.body += "}}\n"sv;
  return r;
}

}  // namespace jobd::server
