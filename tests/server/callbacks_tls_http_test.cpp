// Completion callbacks over https, to a receiver on 127.0.0.1 with certificates the test makes:
// delivered when the receiver's certificate chains to callback_ca_file and names the URL's
// host; refused, with the check's own words, when it does not, or when only the system's
// authorities are trusted.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "../support/temp_folder.hpp"
#include "callback_receiver.hpp"
#include "jobd_process.hpp"
#include "test_certificates.hpp"
#include "test_jobs.hpp"

namespace jobd::testing {
namespace {

using json = nlohmann::json;

class TlsCallbacks : public ::testing::Test {
 protected:
  TlsCallbacks() { std::ofstream(ca_file_) << authority_.cert_pem(); }

  std::vector<std::string> args(const callback_receiver& r, bool trust_authority = true,
                                const std::string& host = "127.0.0.1") {
    std::vector<std::string> a{
        "--callback-allow",        "https://" + host + ":" + std::to_string(r.port()) + "/",
        "--callback-backoff-ms",   "20",
        "--callback-max-attempts", "2"};
    if (trust_authority) a.insert(a.end(), {"--callback-ca-file", ca_file_.string()});
    return a;
  }

  static json callback_of_echo(jobd_process& server, const std::string& url) {
    http_client c(server.port());
    const std::string id =
        submit_async(c, R"({"type":"echo","payload":"hi","callback_url":")" + url + R"("})");
    return settled_callback(c, id);
  }

  static callback_receiver::answer ok(int) { return {}; }

  temp_folder dir_;
  std::filesystem::path ca_file_ = dir_.path() / "ca.pem";
  tls_identity authority_ = make_authority("jobd test authority");
};

TEST_F(TlsCallbacks, AReceiverWithACertificateFromTheTrustedAuthorityGetsTheJob) {
  const tls_identity leaf = make_server_certificate(authority_, "IP:127.0.0.1");
  callback_receiver receiver(ok, 0, &leaf);
  ASSERT_TRUE(receiver.url().starts_with("https://"));
  jobd_process server(args(receiver));
  const json cb = callback_of_echo(server, receiver.url());
  EXPECT_EQ(cb["status"], "delivered") << cb;
  EXPECT_EQ(cb["attempts"], 1);
  const auto got = receiver.wait_for(1);
  EXPECT_TRUE(got.at(0).head.starts_with("POST /done HTTP/1.1\r\n")) << got.at(0).head;
  EXPECT_EQ(got.at(0).header("X-Jobd-Event"), "job.finished");
  EXPECT_EQ(json::parse(got.at(0).body)["result"], "hi");
}

TEST_F(TlsCallbacks, ACertificateFromAnUntrustedAuthorityIsRefused) {
  const tls_identity stranger = make_authority("someone else");
  const tls_identity leaf = make_server_certificate(stranger, "IP:127.0.0.1");
  callback_receiver receiver(ok, 0, &leaf);
  jobd_process server(args(receiver));
  const json cb = callback_of_echo(server, receiver.url());
  EXPECT_EQ(cb["status"], "failed");
  EXPECT_EQ(cb["attempts"], 2);
  EXPECT_EQ(cb["last_error"],
            "no TLS: the receiver's certificate is refused: unable to get local issuer "
            "certificate");
  EXPECT_TRUE(receiver.wait_for(0).empty());
}

TEST_F(TlsCallbacks, ACertificateForAnotherHostIsRefused) {
  const tls_identity leaf = make_server_certificate(authority_, "DNS:receiver.test");
  callback_receiver receiver(ok, 0, &leaf);
  jobd_process server(args(receiver));
  const json cb = callback_of_echo(server, receiver.url());
  EXPECT_EQ(cb["status"], "failed");
  EXPECT_EQ(cb["last_error"], "no TLS: the receiver's certificate is refused: IP address mismatch");
  EXPECT_TRUE(receiver.wait_for(0).empty());
}

// A name, not an address: the certificate must carry it, and it is sent as SNI.
TEST_F(TlsCallbacks, AReceiverNamedByHostIsCheckedForThatNameAndToldItBySni) {
  const tls_identity leaf = make_server_certificate(authority_, "DNS:localhost");
  callback_receiver receiver(ok, 0, &leaf);
  jobd_process server(args(receiver, true, "localhost"));
  const std::string port = std::to_string(receiver.port());
  const json cb = callback_of_echo(server, "https://localhost:" + port + "/done");
  EXPECT_EQ(cb["status"], "delivered") << cb;
  const auto got = receiver.wait_for(1);
  EXPECT_EQ(got.at(0).server_name, "localhost");
  EXPECT_EQ(got.at(0).header("Host"), "localhost:" + port);
}

// Without callback_ca_file the system's authorities are trusted, and the test's is not one.
TEST_F(TlsCallbacks, WithoutACaFileOnlyTheSystemsAuthoritiesAreTrusted) {
  const tls_identity leaf = make_server_certificate(authority_, "IP:127.0.0.1");
  callback_receiver receiver(ok, 0, &leaf);
  jobd_process server(args(receiver, false));
  const json cb = callback_of_echo(server, receiver.url());
  EXPECT_EQ(cb["status"], "failed");
  EXPECT_NE(cb["last_error"].get<std::string>().find("the receiver's certificate is refused"),
            std::string::npos)
      << cb;
}

TEST_F(TlsCallbacks, ACaFileThatIsNotPemStopsTheStart) {
  const auto not_pem = dir_.path() / "not.pem";
  std::ofstream(not_pem) << "just some text\n";
  jobd_process p({"--callback-allow", "https://127.0.0.1/", "--callback-ca-file", not_pem.string()},
                 {}, false);
  EXPECT_EQ(p.wait_exit(), 2);
  EXPECT_NE(
      p.full_output().find("callback_ca_file " + not_pem.string() + " holds no PEM certificate"),
      std::string::npos)
      << p.full_output();
  // PEM markers around something that is not a certificate: refused by the TLS library.
  std::ofstream(not_pem) << "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
  jobd_process broken({"--listen", "127.0.0.1:0", "--callback-allow", "https://127.0.0.1/",
                       "--callback-ca-file", not_pem.string()},
                      {}, false);
  EXPECT_EQ(broken.wait_exit(), 1);
  EXPECT_NE(
      broken.full_output().find("cannot load the certificate authorities of callback_ca_file"),
      std::string::npos)
      << broken.full_output();
}

}  // namespace
}  // namespace jobd::testing
