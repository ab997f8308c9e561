// Raw bytes through Beast's parser (with the server's limits), the router and a handler to a
// serialised response: the session's path without the socket. Up to 8 pipelined requests.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>

#include "app_fixture.hpp"

namespace {

using jobd::server::answer_to_read_error;

constexpr int max_requests = 8;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto& f = jobd::fuzz::fixture();
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  for (int i = 0; i < max_requests && !rest.empty(); ++i) {
    jobd::server::wire_request req;
    jobd::server::request_parser parser(req);
    jobd::server::apply_limits(parser, f.settings);
    boost::beast::error_code ec;
    rest.remove_prefix(jobd::server::feed(parser, rest, ec));
    // The input ending inside a request is a client closing mid-request.
    if (!ec && !parser.is_done()) ec = jobd::server::end_of_input(&parser);
    if (ec) {
      if (auto answer = answer_to_read_error(ec, f.settings))
        f.sink->deliver(0, std::move(*answer));
      return 0;  // the session stops reading after an error
    }
    f.handle(jobd::server::to_route_request(req));
  }
  return 0;
}
