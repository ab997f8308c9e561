#pragma once

// Certificates made by a test for itself: an authority, and a receiver's certificate it signs
// for the names and addresses the test chooses. Nothing is read from or trusted by the system.

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <random>
#include <stdexcept>
#include <string>

namespace jobd::testing {

struct openssl_free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
};

struct tls_identity {
  std::unique_ptr<EVP_PKEY, openssl_free> key;
  std::unique_ptr<X509, openssl_free> cert;

  std::string cert_pem() const {
    return to_pem([this](BIO* b) { return PEM_write_bio_X509(b, cert.get()); });
  }

 private:
  template <class Write>
  static std::string to_pem(Write write) {
    std::unique_ptr<BIO, openssl_free> bio(BIO_new(BIO_s_mem()));
    if (!bio || write(bio.get()) != 1) throw std::runtime_error("test_certificates: PEM");
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(size));
  }
};

// A certificate for `common_name` with `extensions` (name, value in openssl.cnf's words), signed
// by `issuer` (itself when null).
inline tls_identity make_certificate(const std::string& common_name,
                                     std::initializer_list<std::pair<int, const char*>> extensions,
                                     const tls_identity* issuer = nullptr) {
  auto check = [](bool ok) {
    if (!ok) throw std::runtime_error("test_certificates: OpenSSL refused a step");
  };
  tls_identity made;
  made.key.reset(EVP_EC_gen("P-256"));
  made.cert.reset(X509_new());
  check(made.key && made.cert);
  X509* x = made.cert.get();
  check(X509_set_version(x, 2) == 1);
  // Two certificates from one authority must not share a serial number.
  check(ASN1_INTEGER_set(X509_get_serialNumber(x),
                         static_cast<long>(std::random_device{}() >> 1)) == 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 86'400);
  check(X509_set_pubkey(x, made.key.get()) == 1);
  check(X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                                   -1, 0) == 1);
  X509* signer = issuer ? issuer->cert.get() : x;
  check(X509_set_issuer_name(x, X509_get_subject_name(signer)) == 1);
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, signer, x, nullptr, nullptr, 0);
  for (const auto& [nid, value] : extensions) {
    std::unique_ptr<X509_EXTENSION, openssl_free> ext(
        X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
    check(ext && X509_add_ext(x, ext.get(), -1) == 1);
  }
  check(X509_sign(x, issuer ? issuer->key.get() : made.key.get(), EVP_sha256()) > 0);
  return made;
}

inline tls_identity make_authority(const std::string& name) {
  return make_certificate(name, {{NID_basic_constraints, "critical,CA:TRUE"},
                                 {NID_key_usage, "critical,keyCertSign,cRLSign"},
                                 {NID_subject_key_identifier, "hash"}});
}

// `names`: subjectAltName's value, e.g. "IP:127.0.0.1,DNS:receiver.test".
inline tls_identity make_server_certificate(const tls_identity& authority, const char* names) {
  return make_certificate("jobd test receiver",
                          {{NID_basic_constraints, "critical,CA:FALSE"},
                           {NID_key_usage, "critical,digitalSignature"},
                           {NID_ext_key_usage, "serverAuth"},
                           {NID_subject_alt_name, names}},
                          &authority);
}

}  // namespace jobd::testing
