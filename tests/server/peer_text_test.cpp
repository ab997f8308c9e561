// How the access log names a client: real connections over loopback, IPv4 and IPv6.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <string>

#include "server/http/http_session.hpp"

namespace jobd::server {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;

// Connects a client from `from` to a listener on `listen_on`; returns what peer_text says of
// the accepted socket, and the client's port.
struct accepted {
  std::string peer;
  unsigned short client_port = 0;
};

accepted connect_and_name(const tcp::endpoint& listen_on, const tcp::endpoint& to, bool v6_only) {
  net::io_context io;
  tcp::acceptor acceptor(io);
  acceptor.open(listen_on.protocol());
  if (listen_on.address().is_v6()) acceptor.set_option(net::ip::v6_only(v6_only));
  acceptor.bind(listen_on);
  acceptor.listen();
  tcp::socket client(io);
  client.connect(tcp::endpoint(to.address(), acceptor.local_endpoint().port()));
  tcp::socket server_side = acceptor.accept();
  return {peer_text(server_side), client.local_endpoint().port()};
}

bool ipv6_loopback_available() {
  net::io_context io;
  tcp::acceptor probe(io);
  boost::system::error_code ec;
  probe.open(tcp::v6(), ec);
  if (!ec) probe.bind(tcp::endpoint(net::ip::address_v6::loopback(), 0), ec);
  return !ec;
}

TEST(PeerText, IsAddressColonPortForIpv4) {
  const tcp::endpoint loopback(net::ip::address_v4::loopback(), 0);
  const accepted a = connect_and_name(loopback, loopback, false);
  EXPECT_EQ(a.peer, "127.0.0.1:" + std::to_string(a.client_port));
}

TEST(PeerText, BracketsAnIpv6Address) {
  if (!ipv6_loopback_available()) GTEST_SKIP() << "no IPv6 loopback here";
  const tcp::endpoint loopback(net::ip::address_v6::loopback(), 0);
  const accepted a = connect_and_name(loopback, loopback, true);
  EXPECT_EQ(a.peer, "[::1]:" + std::to_string(a.client_port));
}

// A dual-stack listener sees an IPv4 client as ::ffff:127.0.0.1; logs name it as IPv4 does.
TEST(PeerText, ShowsAnIpv4ClientOfADualStackSocketInIpv4Form) {
  if (!ipv6_loopback_available()) GTEST_SKIP() << "no IPv6 here";
  const accepted a = connect_and_name(tcp::endpoint(net::ip::address_v6::any(), 0),
                                      tcp::endpoint(net::ip::address_v4::loopback(), 0), false);
  EXPECT_EQ(a.peer, "127.0.0.1:" + std::to_string(a.client_port));
}

TEST(PeerText, IsADashForASocketWithNoPeer) {
  net::io_context io;
  tcp::socket never_connected(io);
  EXPECT_EQ(peer_text(never_connected), "-");
}

}  // namespace
}  // namespace jobd::server
