#include "engine/text/domain.h"

#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedwall::text {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

struct DomainCase {
  const char* input;
  const char* normalized;
};

TEST(NormalizeDomainTest, Valid) {
  const DomainCase cases[] = {
      {"example.com", "example.com"},
      {"Example.COM", "example.com"},
      {"*.example.com", "example.com"},
      {".example.com", "example.com"},
      {"example.com.", "example.com"},
      {"*.Example.COM.", "example.com"},
      {"example.com:443", "example.com"},
      {"example.com.:8443", "example.com"},
      {"example.com:", "example.com"},
      {"localhost", "localhost"},
      {"com", "com"},
      // IDNA (UTS #46, non-transitional).
      {"b\u00FCcher.example", "xn--bcher-kva.example"},
      {"B\u00DCCHER.Example", "xn--bcher-kva.example"},
      {"xn--bcher-kva.example", "xn--bcher-kva.example"},
      {"XN--BCHER-KVA.example", "xn--bcher-kva.example"},
      {"*.B\u00FCcher.Example.", "xn--bcher-kva.example"},
      {"fa\u00DF.de", "xn--fa-hia.de"},  // non-transitional: ß is kept, not "ss"
      {"\u4F8B\u3048.\u30C6\u30B9\u30C8", "xn--r8jz45g.xn--zckzah"},
      {"\uFF45\uFF58\uFF41\uFF4D\uFF50\uFF4C\uFF45\uFF0E\uFF43\uFF4F\uFF4D", "example.com"},
      {"example\u3002com", "example.com"},  // ideographic full stop
      {"\u0645\u062B\u0627\u0644.\u0625\u062E\u062A\u0628\u0627\u0631", "xn--mgbh0fb.xn--kgbechtv"},
      // Lenient where real host names need it.
      {"_dmarc.example.com", "_dmarc.example.com"},
      {"my_host.example", "my_host.example"},
      {"r3---sn-abc.googlevideo.com", "r3---sn-abc.googlevideo.com"},
      {"-foo.example", "-foo.example"},
      {"192.0.2.1", "192.0.2.1"},
      {"[2001:DB8::1]", "[2001:db8::1]"},
      {"[::1]:443", "[::1]"},
  };
  for (const DomainCase& c : cases) {
    absl::StatusOr<std::string> d = NormalizeDomain(c.input);
    ASSERT_TRUE(d.ok()) << c.input << ": " << d.status();
    EXPECT_EQ(*d, c.normalized) << c.input;
    // Normalising is idempotent.
    absl::StatusOr<std::string> again = NormalizeDomain(*d);
    ASSERT_TRUE(again.ok()) << *d;
    EXPECT_EQ(*again, *d);
  }
}

TEST(NormalizeDomainTest, LengthLimits) {
  const std::string label63(63, 'a');
  const std::string label64(64, 'a');
  EXPECT_TRUE(NormalizeDomain(label63 + ".example").ok());
  EXPECT_FALSE(NormalizeDomain(label64 + ".example").ok());
  // 253 bytes is the longest name; 254 is too long.
  std::string name253 = label63 + "." + label63 + "." + label63 + "." + std::string(61, 'b');
  ASSERT_EQ(name253.size(), 253u);
  EXPECT_TRUE(NormalizeDomain(name253).ok());
  EXPECT_TRUE(NormalizeDomain(name253 + ".").ok());  // the trailing dot does not count
  EXPECT_FALSE(NormalizeDomain(name253 + "b").ok());
  // Limits apply to the A-label form: 59 × 'a' + "ü" is 61 bytes of UTF-8, but its A-label
  // is 67 bytes.
  EXPECT_FALSE(NormalizeDomain(std::string(59, 'a') + "\u00FC.example").ok());
  EXPECT_TRUE(NormalizeDomain(std::string(55, 'a') + "\u00FC.example").ok());
  EXPECT_FALSE(NormalizeDomain(std::string(4000, 'a')).ok());
  EXPECT_FALSE(NormalizeDomain(std::string(4000, 'a') + "\u00FC").ok());
}

TEST(NormalizeDomainTest, Invalid) {
  const std::string cases[] = {
      "",
      ".",
      "*.",
      "*",
      "..",
      "example..com",
      "exa mple.com",
      " example.com",
      "example.com ",
      "exa!mple.com",
      "example.com/path",
      "https://example.com",
      "user@example.com",
      "example.com:80x",
      "a:b:c",
      "*.*.example.com",
      "ex\tample.com",
      "ex%41mple.com",
      "xn--a.com",         // invalid Punycode
      "xn--abc-.com",      // invalid Punycode
      "a\u200Db.example",  // ZWJ outside its allowed context
      "\uFF01.example",    // fullwidth '!' maps to ASCII '!'
      std::string("a\0b", 3),
      "[::1",
      "[]",
      "[::g]",
      "[::1]x",
      "\xFF.example",
  };
  for (const std::string& input : cases) {
    absl::StatusOr<std::string> d = NormalizeDomain(input);
    EXPECT_FALSE(d.ok()) << "\"" << input << "\" -> " << (d.ok() ? *d : "");
    if (!d.ok()) {
      EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument) << input;
    }
  }
}

TEST(NormalizeDomainTest, ErrorNamesTheInputTruncated) {
  absl::StatusOr<std::string> d = NormalizeDomain("exa mple.com");
  ASSERT_FALSE(d.ok());
  EXPECT_THAT(d.status().message(), HasSubstr("\"exa mple.com\""));
  EXPECT_THAT(d.status().message(), HasSubstr("space"));

  const std::string long_input = std::string(300, 'a') + "!";
  d = NormalizeDomain(long_input);
  ASSERT_FALSE(d.ok());
  EXPECT_THAT(d.status().message(), HasSubstr("\"" + std::string(80, 'a') + "...\""));
  EXPECT_LT(d.status().message().size(), 200u);

  d = NormalizeDomain("a\nb");
  ASSERT_FALSE(d.ok());
  EXPECT_THAT(d.status().message(), HasSubstr("\"a\\nb\""));  // control characters escaped
}

TEST(HostOfUrlTest, Table) {
  const DomainCase cases[] = {
      {"https://user@Host.Example:8443/path?q", "Host.Example"},
      {"https://Mastodon.social/users/x", "Mastodon.social"},
      {"https://example.com", "example.com"},
      {"https://example.com?x=1", "example.com"},
      {"https://example.com#frag", "example.com"},
      {"https://example.com/", "example.com"},
      {"https://user:pw@h.example/", "h.example"},
      {"https://a@b@c.example/", "c.example"},
      {"HTTPS://EXAMPLE.COM/", "EXAMPLE.COM"},
      {"http://[::1]:8080/x", "[::1]"},
      {"http://[2001:db8::1]/", "[2001:db8::1]"},
      {"https://b\u00FCcher.example/", "b\u00FCcher.example"},
      {"gemini://gem.example/x", "gem.example"},
      {"git+ssh://git@code.example/repo", "code.example"},
      {"https://", ""},
      {"https:///path", ""},
      {"http://[::1/", ""},
      {"urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66", ""},
      {"mailto:user@example.com", ""},
      {"/relative/path", ""},
      {"//example.com/x", ""},
      {"example.com", ""},
      {"", ""},
      {"1http://x.example/", ""},
  };
  for (const DomainCase& c : cases) {
    EXPECT_EQ(HostOfUrl(c.input), c.normalized) << c.input;
  }
}

TEST(DomainOfUrlTest, Table) {
  EXPECT_EQ(DomainOfUrl("https://Mastodon.Social./users/x"), "mastodon.social");
  EXPECT_EQ(DomainOfUrl("https://user@Host.Example:8443/path?q"), "host.example");
  EXPECT_EQ(DomainOfUrl("https://B\u00FCcher.Example/x"), "xn--bcher-kva.example");
  EXPECT_EQ(DomainOfUrl("https://[::1]/"), "[::1]");
  EXPECT_EQ(DomainOfUrl("https://exa!mple.com/"), "");
  EXPECT_EQ(DomainOfUrl("urn:x:y"), "");
  EXPECT_EQ(DomainOfUrl(""), "");
}

TEST(ForEachSuffixTest, VisitsParentsItselfFirst) {
  std::vector<std::string> seen;
  ForEachSuffix("a.b.example.com", [&](std::string_view s) {
    seen.emplace_back(s);
    return true;
  });
  EXPECT_THAT(seen, ElementsAre("a.b.example.com", "b.example.com", "example.com", "com"));
  seen.clear();
  ForEachSuffix("a.b.example.com", [&](std::string_view s) {
    seen.emplace_back(s);
    return seen.size() < 2;
  });
  EXPECT_THAT(seen, ElementsAre("a.b.example.com", "b.example.com"));
  seen.clear();
  ForEachSuffix("", [&](std::string_view s) {
    seen.emplace_back(s);
    return true;
  });
  EXPECT_TRUE(seen.empty());
}

TEST(DomainRobustnessTest, RandomInputsGiveValidNamesOrErrors) {
  const std::vector<std::string> pool = {
      "a", "Z", "0", "-", "_", ".", "*.", ":", "443", "[", "]", "::", "@", "/", "https://",
      "xn--", "\u00FC", "\u3002", "\uFF0E", "\u200D", "\u0627", "\xFF", "\xC3", " ", "%"};
  std::mt19937 rng(3);
  std::uniform_int_distribution<size_t> pick(0, pool.size() - 1);
  std::uniform_int_distribution<int> length(0, 16);
  for (int iter = 0; iter < 20000; ++iter) {
    std::string s;
    for (int k = length(rng); k > 0; --k) s += pool[pick(rng)];
    absl::StatusOr<std::string> d = NormalizeDomain(s);
    if (d.ok()) {
      ASSERT_FALSE(d->empty()) << s;
      ASSERT_LE(d->size(), 253u) << s;
      for (char c : *d) {
        ASSERT_TRUE((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                    c == '.' || c == '[' || c == ']' || c == ':')
            << s << " -> " << *d;
      }
      absl::StatusOr<std::string> again = NormalizeDomain(*d);
      ASSERT_TRUE(again.ok()) << s << " -> " << *d;
      ASSERT_EQ(*again, *d) << s;
    }
    std::string_view host = HostOfUrl(s);
    ASSERT_LE(host.size(), s.size());
    (void)DomainOfUrl(s);
  }
}

}  // namespace
}  // namespace fedwall::text
