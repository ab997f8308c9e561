#pragma once

// Between Beast's parser and the routes' plain request and response: one place for what the
// session and the HTTP fuzz target both need, so that the fuzzer drives the real path.

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "config/settings.hpp"
#include "server/http_types.hpp"

namespace jobd::server {

using wire_request = boost::beast::http::request<boost::beast::http::string_body>;
using request_parser = boost::beast::http::request_parser<boost::beast::http::string_body>;

// A parser with the settings' header and body limits.
void apply_limits(request_parser& parser, const config::settings& s);

// Gives `input` to the parser, as much of it as the parser takes, and returns the bytes used.
// Afterwards the parser is done, or `ec` holds why the request cannot be parsed, or it needs
// more bytes than `input` had (what it did not use must be offered again, with more after it).
std::size_t feed(request_parser& parser, std::string_view input, boost::beast::error_code& ec);

// The peer ended its stream: end_of_stream between requests, partial_message inside one.
boost::beast::error_code end_of_input(request_parser* parser);

// How a read that failed is answered: an error response (the connection closes after it), or
// nullopt when there is nothing to answer (the peer closed, went silent, or the socket failed).
std::optional<http_response> answer_to_read_error(boost::beast::error_code ec,
                                                  const config::settings& s);

// The routes' view of a parsed request, valid as long as `req`.
http_request to_route_request(const wire_request& req);

// Appends the wire form of a route's answer (status line, headers, body) to `out`. An answer to
// HEAD has the headers of the answer to GET, Content-Length included, and no body.
void append_wire_response(std::string& out, const http_response& r, unsigned version,
                          bool keep_alive, std::string_view request_id, bool head = false);

}  // namespace jobd::server
