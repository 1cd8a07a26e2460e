#include "service/gateway/inbox_http.h"

#include <gtest/gtest.h>

namespace fedwall::gateway {
namespace {

TEST(InboxPath, MatchesSharedAndPerUserInboxesOnly) {
  const std::vector<std::string> p = {"/inbox", "/users/*/inbox"};
  EXPECT_TRUE(IsInboxPath("/inbox", p));
  EXPECT_TRUE(IsInboxPath("/users/alice/inbox", p));
  EXPECT_TRUE(IsInboxPath("/users/alice/inbox?x=1", p));
  EXPECT_FALSE(IsInboxPath("/users//inbox", p));
  EXPECT_FALSE(IsInboxPath("/users/a/b/inbox", p));
  EXPECT_FALSE(IsInboxPath("/users/alice/outbox", p));
  EXPECT_FALSE(IsInboxPath("/inbox/", p));
  EXPECT_FALSE(IsInboxPath("", p));
  EXPECT_TRUE(CheckInboxPattern("/u/*/inbox").ok());
  EXPECT_FALSE(CheckInboxPattern("inbox").ok());
  EXPECT_FALSE(CheckInboxPattern("/users/a*/inbox").ok());
}

std::string Domain(absl::string_view signature) { return SigningDomain({signature}).domain; }

TEST(SigningDomain, IsTheHostOfTheKeyId) {
  EXPECT_EQ(Domain(R"(keyId="https://Social.Example/users/a#main-key",algorithm="rsa-sha256",headers="(request-target) host date digest",signature="abc==")"),
            "social.example");
  EXPECT_EQ(Domain(R"(algorithm="hs2019", keyId="https://m.example:8443/actor#key")"), "m.example");
  EXPECT_EQ(Domain(R"(keyid="http://x.example./k")"), "x.example");
  EXPECT_EQ(Domain(R"(keyId="acct:a@b.example")"), "");
  EXPECT_EQ(Domain(R"(keyId="https://[::1]/k")"), "");
  EXPECT_EQ(Domain(R"(keyId="https://unterminated)"), "");
  EXPECT_EQ(Domain(""), "");
  EXPECT_EQ(Domain(std::string(100000, '=')), "");
  // RFC 9421: the keyid parameter of Signature-Input.
  EXPECT_EQ(SigningDomain({}, {R"(sig1=("@method" "@target-uri");created=1;keyid="https://n.example/k#1")"})
                .domain,
            "n.example");
}

TEST(SigningDomain, SeveralOwnersAreAmbiguous) {
  // Each of these could make the server check one key while the rules see another domain.
  EXPECT_TRUE(SigningDomain({R"(KEYID="https://ok.example/a#k",keyId="https://bad.example/u#k")"}).ambiguous);
  EXPECT_TRUE(SigningDomain({R"(keyId="https://ok.example/a#k")", R"(keyId="https://bad.example/u#k")"})
                  .ambiguous);
  EXPECT_TRUE(SigningDomain({R"(junk,keyId="https://bad.example/u#k")", R"(keyId="https://ok.example/k")"})
                  .ambiguous);
  EXPECT_TRUE(SigningDomain({R"(keyId="https://ok.example@bad.example/k")"}).ambiguous);
  EXPECT_TRUE(SigningDomain({R"(keyId="https://ok.example\@bad.example/k")"}).ambiguous);
  EXPECT_TRUE(SigningDomain({R"(keyId="https://ok.example/k")"}, {R"(sig1=();keyid="https://bad.example/k")"})
                  .ambiguous);
  EXPECT_EQ(SigningDomain({R"(keyId="https://ok.example@bad.example/k")"}).domain, "");
  // The same key named twice is not ambiguous; a comma inside quotes does not split.
  const Signer same = SigningDomain({R"(keyId="https://ok.example/k",headers="a,b")", R"(keyId="https://OK.example/k")"});
  EXPECT_FALSE(same.ambiguous);
  EXPECT_EQ(same.domain, "ok.example");
}

TEST(HttpDate, ParsesAndFormatsImfFixdate) {
  const auto t = ParseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(absl::ToUnixSeconds(*t), 784111777);
  EXPECT_EQ(FormatHttpDate(*t), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_FALSE(ParseHttpDate("yesterday").has_value());
  EXPECT_FALSE(ParseHttpDate(std::string(1000, 'x')).has_value());
}

TEST(ClientAddress, TrustsForwardedForOnlyFromTrustedProxies) {
  const AddressSet trusted = *AddressSet::Parse({"127.0.0.1", "10.0.0.0/8", "::1"});
  EXPECT_EQ(ClientAddress("203.0.113.5", {"198.51.100.1"}, trusted), "203.0.113.5");
  EXPECT_EQ(ClientAddress("127.0.0.1", {"198.51.100.1"}, trusted), "198.51.100.1");
  // A sender's own X-Forwarded-For entries come first; the right-most untrusted one wins.
  EXPECT_EQ(ClientAddress("127.0.0.1", {"6.6.6.6, 198.51.100.1", "10.1.2.3"}, trusted),
            "198.51.100.1");
  EXPECT_EQ(ClientAddress("127.0.0.1", {}, trusted), "127.0.0.1");
  EXPECT_EQ(ClientAddress("127.0.0.1", {"garbage, 10.0.0.1"}, trusted), "10.0.0.1");
  EXPECT_EQ(ClientAddress("::1", {"2001:db8::1"}, trusted), "2001:db8::1");
  // Canonical form: no port, no brackets, no leading zeros.
  EXPECT_EQ(ClientAddress("127.0.0.1", {"198.51.100.1:4431"}, trusted), "198.51.100.1");
  EXPECT_EQ(ClientAddress("127.0.0.1", {"[2001:DB8:0::1]:443"}, trusted), "2001:db8::1");
  EXPECT_FALSE(AddressSet::Parse({"10.0.0.0/33"}).ok());
  EXPECT_FALSE(AddressSet::Parse({"example.com"}).ok());
  EXPECT_TRUE(AddressSet::Parse({"fd00::/8"})->Contains("fd12::1"));
  EXPECT_FALSE(AddressSet::Parse({"fd00::/8"})->Contains("fe80::1"));
}

TEST(HopByHop, CoversTheStandardOnesAndThoseConnectionNames) {
  EXPECT_TRUE(IsHopByHop("Connection", {}));
  EXPECT_TRUE(IsHopByHop("transfer-encoding", {}));
  EXPECT_TRUE(IsHopByHop("X-Private", {"close, X-Private"}));
  EXPECT_FALSE(IsHopByHop("Signature", {"close"}));
  EXPECT_FALSE(IsHopByHop("Host", {}));
}

}  // namespace
}  // namespace fedwall::gateway
