#pragma once

// Between Beast's messages and the routes' plain request and response: one place for what the
// session and the HTTP fuzz target both need, so that the fuzzer drives the real path.

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <optional>

#include "config/settings.hpp"
#include "server/http_types.hpp"

namespace jobd::server {

using wire_request = boost::beast::http::request<boost::beast::http::string_body>;
using wire_response = boost::beast::http::response<boost::beast::http::string_body>;
using request_parser = boost::beast::http::request_parser<boost::beast::http::string_body>;

// A parser with the settings' header and body limits.
void apply_limits(request_parser& parser, const config::settings& s);

// How a read that failed is answered: an error response (the connection closes after it), or
// nullopt when there is nothing to answer (the peer closed, went silent, or the socket failed).
std::optional<http_response> answer_to_read_error(boost::beast::error_code ec,
                                                  const config::settings& s);

// The routes' view of a parsed request; the body is moved out.
http_request to_route_request(wire_request& req, std::string request_id);

// The wire form of a route's answer; the body is moved out.
wire_response to_wire_response(http_response& r, unsigned version, bool keep_alive,
                               const std::string& request_id);

}  // namespace jobd::server
