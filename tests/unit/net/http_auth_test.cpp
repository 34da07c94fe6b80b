// Basic and Digest authentication against the RFCs' own examples (RFC 7617, RFC 7616 §3.9.1,
// RFC 2617 §3.5), and WWW-Authenticate parsing of what cameras really send.
#include "net/http_auth.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace rcgate::net {
namespace {

TEST(Base64, Rfc4648Vectors) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_encode(std::string("\xff\xfe\x00", 3)), "//4A");
}

TEST(Base64, DecodesWhatItEncodesAndRefusesOtherText) {
  for (const std::string& text : std::vector<std::string>{"", "f", "fo", "foobar", std::string("\xff\xfe\x00", 3)})
    EXPECT_EQ(base64_decode(base64_encode(text)), text);
  EXPECT_EQ(base64_decode("Zm9v\nYmFy"), "foobar");  // line breaks ignored
  EXPECT_EQ(base64_decode("__4A"), std::string("\xff\xfe\x00", 3));  // URL-safe alphabet
  EXPECT_EQ(base64_decode("Zm9v!"), std::nullopt);
}

TEST(BasicAuth, Rfc7617Example) {
  EXPECT_EQ(basic_authorization("Aladdin", "open sesame"), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
}

TEST(Hashes, KnownDigests) {
  EXPECT_EQ(md5_hex(""), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

// RFC 7616 §3.9.1: the server offers SHA-256 and MD5 in two headers.
const std::vector<std::string> kRfc7616Challenge = {
    "Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", algorithm=SHA-256, "
    "nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", "
    "opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"",
    "Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", algorithm=MD5, "
    "nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", "
    "opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\""};

DigestRequest mufasa(const std::string& cnonce) {
  DigestRequest r;
  r.method = "GET";
  r.uri = "/dir/index.html";
  r.username = "Mufasa";
  r.password = "Circle of Life";
  r.nc = 1;
  r.cnonce = cnonce;
  return r;
}

TEST(DigestAuth, Rfc7616Sha256AndMd5Examples) {
  const auto challenges = parse_challenges(kRfc7616Challenge);
  ASSERT_EQ(challenges.size(), 2u);
  EXPECT_TRUE(challenges[0].is("digest"));
  EXPECT_EQ(challenges[0].param("realm"), "http-auth@example.org");
  EXPECT_EQ(challenges[0].param("qop"), "auth, auth-int");
  EXPECT_EQ(challenges[0].param("algorithm"), "SHA-256");
  EXPECT_EQ(challenges[1].param("algorithm"), "MD5");
  // SHA-256 is preferred when both are offered.
  EXPECT_EQ(pick_digest(challenges), &challenges[0]);

  const std::string cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
  std::string error;
  const auto sha = digest_authorization(challenges[0], mufasa(cnonce), error);
  ASSERT_TRUE(sha) << error;
  EXPECT_EQ(*sha,
            "Digest username=\"Mufasa\", realm=\"http-auth@example.org\", uri=\"/dir/index.html\", "
            "algorithm=SHA-256, nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", "
            "nc=00000001, cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\", qop=auth, "
            "response=\"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1\", "
            "opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"");
  const auto md5 = digest_authorization(challenges[1], mufasa(cnonce), error);
  ASSERT_TRUE(md5) << error;
  EXPECT_NE(md5->find("algorithm=MD5, "), std::string::npos);
  EXPECT_NE(md5->find("response=\"8ca523f5e9506fed4657c9700eebdbec\""), std::string::npos) << *md5;
}

TEST(DigestAuth, Rfc2617ExampleWithoutAlgorithm) {
  const auto challenges = parse_challenges(
      {"Digest realm=\"testrealm@host.com\", qop=\"auth,auth-int\", "
       "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\""});
  ASSERT_EQ(challenges.size(), 1u);
  std::string error;
  DigestRequest request = mufasa("0a4f113b");
  request.password = "Circle Of Life";  // RFC 2617 capitalises it, RFC 7616 does not
  const auto header = digest_authorization(challenges[0], request, error);
  ASSERT_TRUE(header) << error;
  EXPECT_EQ(*header,
            "Digest username=\"Mufasa\", realm=\"testrealm@host.com\", uri=\"/dir/index.html\", "
            "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", nc=00000001, cnonce=\"0a4f113b\", "
            "qop=auth, response=\"6629fae49393a05397450978507c4ef1\", "
            "opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"");
}

TEST(DigestAuth, NoQopIsTheRfc2069Form) {
  const auto challenges =
      parse_challenges({"Digest realm=\"testrealm@host.com\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\""});
  std::string error;
  const auto header = digest_authorization(challenges.at(0), mufasa("ignored"), error);
  ASSERT_TRUE(header) << error;
  // H(H(A1):nonce:H(A2)), no nc/cnonce/qop.
  const std::string ha1 = md5_hex("Mufasa:testrealm@host.com:Circle of Life");
  const std::string ha2 = md5_hex("GET:/dir/index.html");
  EXPECT_EQ(*header, "Digest username=\"Mufasa\", realm=\"testrealm@host.com\", uri=\"/dir/index.html\", "
                     "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", response=\"" +
                         md5_hex(ha1 + ":dcd98b7102dd2f0e8b11d0f600bfb0c093:" + ha2) + "\"");
}

TEST(DigestAuth, SessionVariantAndUserhashAndNonceCount) {
  const auto challenges = parse_challenges(
      {"Digest realm=\"cam\", qop=\"auth\", algorithm=SHA-256-sess, nonce=\"n1\", userhash=true"});
  DigestRequest request = mufasa("c1");
  request.nc = 0x1a;
  std::string error;
  const auto header = digest_authorization(challenges.at(0), request, error);
  ASSERT_TRUE(header) << error;
  const std::string ha1 = sha256_hex(sha256_hex("Mufasa:cam:Circle of Life") + ":n1:c1");
  const std::string ha2 = sha256_hex("GET:/dir/index.html");
  const std::string response = sha256_hex(ha1 + ":n1:0000001a:c1:auth:" + ha2);
  EXPECT_EQ(*header, "Digest username=\"" + sha256_hex("Mufasa:cam") +
                         "\", realm=\"cam\", uri=\"/dir/index.html\", algorithm=SHA-256-sess, "
                         "nonce=\"n1\", nc=0000001a, cnonce=\"c1\", qop=auth, response=\"" +
                         response + "\", userhash=true");
}

TEST(DigestAuth, UnsupportedChallengesAreExplained) {
  std::string error;
  auto c = parse_challenges({"Digest realm=\"a\", nonce=\"n\", algorithm=SHA-512-256"});
  EXPECT_FALSE(digest_authorization(c.at(0), mufasa("x"), error));
  EXPECT_EQ(error, "Digest algorithm SHA-512-256 is not supported (only MD5 and SHA-256)");
  c = parse_challenges({"Digest realm=\"a\", nonce=\"n\", qop=\"auth-int\""});
  EXPECT_FALSE(digest_authorization(c.at(0), mufasa("x"), error));
  EXPECT_EQ(error, "Digest qop \"auth-int\" is not supported (only auth)");
  c = parse_challenges({"Digest realm=\"a\""});
  EXPECT_FALSE(digest_authorization(c.at(0), mufasa("x"), error));
  EXPECT_EQ(error, "the Digest challenge has no nonce");
  EXPECT_EQ(pick_digest(c), nullptr);
  c = parse_challenges({"Basic realm=\"a\""});
  EXPECT_FALSE(digest_authorization(c.at(0), mufasa("x"), error));
}

TEST(DigestAuth, QuotesInTheUserNameAreEscaped) {
  const auto c = parse_challenges({"Digest realm=\"a\", nonce=\"n\""});
  DigestRequest request = mufasa("x");
  request.username = "say \"hi\"";
  std::string error;
  const auto header = digest_authorization(c.at(0), request, error);
  ASSERT_TRUE(header) << error;
  EXPECT_EQ(header->rfind("Digest username=\"say \\\"hi\\\"\", ", 0), 0u) << *header;
}

TEST(Challenges, SeveralInOneHeaderWithEscapesAndOddSpacing) {
  // A Hikvision-style answer, a Basic fallback, and a token68 scheme in between.
  const auto c = parse_challenges(
      {"Digest qop=\"auth\",realm=\"IP Camera(C1234)\",nonce=\"4e5a\\\"59\",stale=\"FALSE\", "
       "Negotiate YIIB9gYGKwYBBQUCoIIB6jCCAeagMDAuBgkqhkiC9xIBAgIGCSqGSIb3EgECAgYKKwYBBAGCNwICHgYKKwYBBAGCNwICCqKCAbAEggGsTlRMTVNTUAABAAAAl7II4g==, "
       "Basic  realm = \"IP Camera(C1234)\""});
  ASSERT_EQ(c.size(), 3u);
  EXPECT_TRUE(c[0].is("Digest"));
  EXPECT_EQ(c[0].param("realm"), "IP Camera(C1234)");
  EXPECT_EQ(c[0].param("nonce"), "4e5a\"59");
  EXPECT_EQ(c[0].param("stale"), "FALSE");
  EXPECT_TRUE(c[1].is("negotiate"));
  EXPECT_TRUE(c[1].params.empty());
  EXPECT_TRUE(c[2].is("basic"));
  EXPECT_EQ(c[2].param("realm"), "IP Camera(C1234)");
  EXPECT_EQ(pick_digest(c), &c[0]);
}

TEST(Challenges, RandomCnoncesDiffer) {
  const std::string a = random_cnonce(), b = random_cnonce();
  EXPECT_EQ(a.size(), 24u);
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace rcgate::net
