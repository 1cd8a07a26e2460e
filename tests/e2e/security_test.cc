// Security end-to-end tests of fedwalld (docs/security.md): TLS on the gRPC ports, mutual TLS
// on the AdminService port, the refusal to serve an admin port to the network without a
// token, no secret in the logs, and a review store readable by its owner only.
//
// The certificates are made at test time with the openssl command (a self-signed RSA server
// certificate for 127.0.0.1 and localhost; a client CA, a client certificate it signs, and a
// second CA whose client certificate must be refused). Every test starts its own fedwalld on
// 127.0.0.1 port 0 with a copy of tests/fixtures/service/policy.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "fedwall/v1/admin_service.grpc.pb.h"
#include "fedwall/v1/policy_service.grpc.pb.h"
#include "tests/cli/run_command.h"
#include "tests/e2e/e2e_util.h"
#include "tests/e2e/fedwalld_process.h"

namespace fedwall::testing {
namespace {

namespace fs = std::filesystem;
namespace v1 = fedwall::v1;
using ::testing::HasSubstr;
using ::testing::Not;

const std::string kFixtures = std::string(FEDWALL_SOURCE_DIR) + "/tests/fixtures/service/";
// Long and unusual, so finding it in a log cannot be a coincidence.
constexpr char kToken[] = "sec-e2e-token-4b1d9f7e02c3a8d6";
constexpr absl::Duration kStartTimeout = absl::Seconds(30);

// Runs `command` with sh; its output goes to `log`. True when it exits 0.
bool Run(const std::string& command, const std::string& log) {
  const std::string line = absl::StrCat(command, " >>'", log, "' 2>&1");
  return std::system(line.c_str()) == 0;
}

// The certificates of the suite, made once.
struct Pki {
  std::string dir;
  std::string server_cert, server_key;  // self-signed, CN=localhost, SAN 127.0.0.1 + localhost
  std::string ca_cert;                  // signs admin clients
  std::string client_cert, client_key;  // signed by ca_cert
  std::string rogue_cert, rogue_key;    // a client certificate from another, unknown CA
  std::string error;                    // why making them failed ("" when they are there)
};

const Pki& Certificates();

// Removes the certificates' directory when the suite ends.
class PkiCleanup : public ::testing::Environment {
 public:
  void TearDown() override {
    if (!made) return;
    std::error_code ec;
    fs::remove_all(Certificates().dir, ec);
  }
  static inline bool made = false;  // Certificates() ran
};
::testing::Environment* const kPkiCleanup = ::testing::AddGlobalTestEnvironment(new PkiCleanup);

const Pki& Certificates() {
  static const Pki* const pki = [] {
    auto* p = new Pki;
    std::string pattern = ::testing::TempDir() + "fedwall_pki_XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) {
      p->error = "mkdtemp failed";
      return p;
    }
    p->dir = pattern;
    PkiCleanup::made = true;
    const std::string d = p->dir + "/";
    const std::string log = d + "openssl.log";
    p->server_cert = d + "server.pem";
    p->server_key = d + "server.key";
    p->ca_cert = d + "ca.pem";
    p->client_cert = d + "client.pem";
    p->client_key = d + "client.key";
    p->rogue_cert = d + "rogue.pem";
    p->rogue_key = d + "rogue.key";
    // RSA for the server (as most deployments have), EC for the rest (fast to make).
    const std::string req =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1";
    const std::string new_client_key =
        "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=admin";
    const std::vector<std::string> commands = {
        "command -v openssl",
        absl::StrCat("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost",
                     " -addext subjectAltName=IP:127.0.0.1,DNS:localhost", " -keyout ", d,
                     "server.key -out ", d, "server.pem"),
        absl::StrCat(req, " -subj /CN=fedwall-test-ca -keyout ", d, "ca.key -out ", d, "ca.pem"),
        absl::StrCat(req, " -subj /CN=rogue-ca -keyout ", d, "rogue-ca.key -out ", d,
                     "rogue-ca.pem"),
        absl::StrCat(new_client_key, " -keyout ", d, "client.key -out ", d, "client.csr"),
        absl::StrCat("openssl x509 -req -days 1 -in ", d, "client.csr -CA ", d, "ca.pem -CAkey ", d,
                     "ca.key -CAcreateserial -out ", d, "client.pem"),
        absl::StrCat(new_client_key, " -keyout ", d, "rogue.key -out ", d, "rogue.csr"),
        absl::StrCat("openssl x509 -req -days 1 -in ", d, "rogue.csr -CA ", d,
                     "rogue-ca.pem -CAkey ", d, "rogue-ca.key -CAcreateserial -out ", d,
                     "rogue.pem"),
    };
    for (const std::string& c : commands) {
      if (!Run(c, log)) {
        p->error = absl::StrCat("`", c, "` failed:\n", ReadFile(log));
        return p;
      }
    }
    return p;
  }();
  return *pki;
}

// Skips the test when the openssl command is not there (it is in the Debian image CI uses).
#define REQUIRE_CERTIFICATES()                                             \
  do {                                                                     \
    if (!Certificates().error.empty()) {                                   \
      if (absl::StrContains(Certificates().error, "command -v openssl")) { \
        GTEST_SKIP() << "the openssl command is not installed";            \
      }                                                                    \
      FAIL() << Certificates().error;                                      \
    }                                                                      \
  } while (false)

std::shared_ptr<grpc::ChannelCredentials> TlsCredentials(const std::string& cert = "",
                                                         const std::string& key = "") {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = ReadFile(Certificates().server_cert);
  if (!cert.empty()) {
    options.pem_cert_chain = ReadFile(cert);
    options.pem_private_key = ReadFile(key);
  }
  return grpc::SslCredentials(options);
}

void Prepare(grpc::ClientContext* context, const std::string& authorization = "") {
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  if (!authorization.empty()) context->AddMetadata("authorization", authorization);
}

const std::string kBearer = absl::StrCat("Bearer ", kToken);

grpc::Status Evaluate(const std::shared_ptr<grpc::Channel>& channel, const std::string& json) {
  auto stub = v1::PolicyService::NewStub(channel);
  grpc::ClientContext context;
  Prepare(&context);
  v1::EvaluateRequest request;
  request.set_request_id("sec");
  request.set_activity_json(json);
  v1::EvaluateResponse response;
  return stub->Evaluate(&context, request, &response);
}

grpc::Status GetPolicy(const std::shared_ptr<grpc::Channel>& channel,
                       const std::string& authorization = kBearer) {
  auto stub = v1::AdminService::NewStub(channel);
  grpc::ClientContext context;
  Prepare(&context, authorization);
  v1::GetPolicyResponse response;
  return stub->GetPolicy(&context, v1::GetPolicyRequest(), &response);
}

grpc::Status CreateBlock(const std::shared_ptr<grpc::Channel>& channel, const std::string& domain,
                         const std::string& authorization = kBearer) {
  auto stub = v1::AdminService::NewStub(channel);
  grpc::ClientContext context;
  Prepare(&context, authorization);
  v1::CreateDomainBlockRequest request;
  request.mutable_block()->set_domain(domain);
  request.mutable_block()->set_severity(v1::SEVERITY_SUSPEND);
  v1::DomainBlock response;
  return stub->CreateDomainBlock(&context, request, &response);
}

std::string Describe(const grpc::Status& s) {
  return absl::StrCat("gRPC status ", s.error_code(), ": ", s.error_message());
}

// ---- A minimal HTTP/1.1 client for the admin HTTP port ----------------------------------------

struct HttpResponse {
  int status = 0;
  std::string head;  // status line and headers
  std::string body;
};

// One request on a fresh connection ("Connection: close"); status 0 when it could not be made.
HttpResponse Http(const std::string& address, const std::string& method, const std::string& path,
                  const std::vector<std::string>& headers = {}, const std::string& body = "") {
  HttpResponse out;
  const size_t colon = address.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(address.substr(colon + 1), &port)) {
    return out;
  }
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return out;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, address.substr(0, colon).c_str(), &sa.sin_addr);
  timeval timeout{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
    close(fd);
    return out;
  }
  std::string request =
      absl::StrCat(method, " ", path, " HTTP/1.1\r\nHost: ", address,
                   "\r\nConnection: close\r\nContent-Length: ", body.size(), "\r\n");
  for (const std::string& h : headers) absl::StrAppend(&request, h, "\r\n");
  absl::StrAppend(&request, "\r\n", body);
  for (size_t sent = 0; sent < request.size();) {
    const ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      close(fd);
      return out;
    }
    sent += static_cast<size_t>(n);
  }
  std::string raw;
  char buffer[4096];
  while (true) {
    const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    raw.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  const size_t end = raw.find("\r\n\r\n");
  if (end == std::string::npos) return out;
  out.head = raw.substr(0, end);
  out.body = raw.substr(end + 4);
  const std::vector<std::string> first = absl::StrSplit(out.head, absl::MaxSplits(' ', 2));
  if (first.size() >= 2) absl::SimpleAtoi(first[1], &out.status);
  return out;
}

// The value of the session cookie set by `response` ("" when none).
std::string SessionCookie(const HttpResponse& response) {
  constexpr std::string_view kSet = "Set-Cookie: fedwall_session=";
  const size_t at = response.head.find(kSet);
  if (at == std::string::npos) return "";
  const size_t start = at + kSet.size();
  return response.head.substr(start, response.head.find(';', start) - start);
}

// Polls `done` every 10 ms for up to 10 s; its last answer.
template <typename Done>
bool WaitFor(Done done) {
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!done()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return true;
}

// ---- The fixture ------------------------------------------------------------------------------

class SecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "fedwalld_security_XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr) << "mkdtemp " << pattern;
    dir_ = pattern;
    fs::copy(kFixtures + "policy", dir_ + "/policy", fs::copy_options::recursive);
    token_file_ = dir_ + "/admin.token";
    WriteFile(token_file_, absl::StrCat(kToken, "\n"));
    fs::permissions(token_file_, fs::perms::owner_read | fs::perms::owner_write);
  }
  void TearDown() override {
    for (const auto& s : servers_) {
      if (HasFailure()) {
        std::cerr << "---- fedwalld stdout ----\n"
                  << s->Stdout() << "---- fedwalld stderr ----\n"
                  << s->Stderr();
      }
    }
    servers_.clear();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // The arguments every server gets, then `extra`.
  std::vector<std::string> Args(const std::vector<std::string>& extra, bool with_token = true) {
    std::vector<std::string> args = {
        "--policy",   dir_ + "/policy", "--store", dir_ + "/fedwall.db",
        "--no-watch", "--workers",      "2"};
    if (with_token) {
      args.push_back("--admin-token-file");
      args.push_back(token_file_);
    }
    if (std::find(extra.begin(), extra.end(), "--listen") == extra.end()) {
      args.push_back("--listen");
      args.push_back("127.0.0.1:0");
    }
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  FedwalldProcess& Start(const std::vector<std::string>& extra, bool with_token = true) {
    servers_.push_back(std::make_unique<FedwalldProcess>(Args(extra, with_token)));
    return *servers_.back();
  }

  // Starts a server that must not start: its exit code, and its standard error in `err`.
  std::optional<int> StartFails(const std::vector<std::string>& extra, bool with_token,
                                std::string* err) {
    FedwalldProcess& server = Start(extra, with_token);
    std::optional<int> code = server.WaitExit(kStartTimeout);
    // The reader thread may still be draining the pipe: wait for the closing message.
    WaitFor([&] {
      const std::string e = server.Stderr();
      return absl::StrContains(e, "fedwalld: ") && absl::EndsWith(e, "\n");
    });
    *err = server.Stderr();
    return code;
  }

  std::string Activity(const std::string& name) {
    return ReadFile(kFixtures + "activities/" + name);
  }

  std::string dir_;
  std::string token_file_;
  std::vector<std::unique_ptr<FedwalldProcess>> servers_;
};

// ---- TLS --------------------------------------------------------------------------------------

TEST_F(SecurityTest, TlsServesBothServicesAndRefusesPlaintextClients) {
  REQUIRE_CERTIFICATES();
  const Pki& pki = Certificates();
  FedwalldProcess& server = Start({"--tls-cert", pki.server_cert, "--tls-key", pki.server_key});
  ASSERT_TRUE(server.WaitUntilListening(kStartTimeout)) << server.Stderr();

  auto tls = grpc::CreateChannel(server.address(), TlsCredentials());
  grpc::Status s = Evaluate(tls, Activity("clean-note.json"));
  EXPECT_TRUE(s.ok()) << Describe(s);
  s = GetPolicy(tls);
  EXPECT_TRUE(s.ok()) << Describe(s);
  EXPECT_EQ(GetPolicy(tls, "Bearer wrong").error_code(), grpc::StatusCode::UNAUTHENTICATED);

  // The same port without TLS: no call gets through.
  auto plain = grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials());
  s = Evaluate(plain, Activity("clean-note.json"));
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << Describe(s);
  EXPECT_FALSE(GetPolicy(plain).ok());

  // A client that trusts another CA refuses the server.
  grpc::SslCredentialsOptions other;
  other.pem_root_certs = ReadFile(pki.ca_cert);
  auto untrusted = grpc::CreateChannel(server.address(), grpc::SslCredentials(other));
  EXPECT_EQ(Evaluate(untrusted, Activity("clean-note.json")).error_code(),
            grpc::StatusCode::UNAVAILABLE);

  EXPECT_THAT(server.Stderr(), HasSubstr("(TLS)"));
  // Open client connections would hold the drain for its whole timeout.
  tls.reset();
  plain.reset();
  untrusted.reset();
  server.Signal(SIGTERM);
  EXPECT_EQ(server.WaitExit(absl::Seconds(20)), 0);
}

TEST_F(SecurityTest, MutualTlsOnTheAdminPort) {
  REQUIRE_CERTIFICATES();
  const Pki& pki = Certificates();
  FedwalldProcess& server =
      Start({"--tls-cert", pki.server_cert, "--tls-key", pki.server_key, "--admin-client-ca",
             pki.ca_cert, "--admin-listen", "127.0.0.1:0"});
  ASSERT_TRUE(server.WaitUntilListening(kStartTimeout)) << server.Stderr();
  ASSERT_NE(server.address(), server.admin_address());

  // The data plane: server-only TLS, no client certificate needed.
  grpc::Status s = Evaluate(grpc::CreateChannel(server.address(), TlsCredentials()),
                            Activity("clean-note.json"));
  EXPECT_TRUE(s.ok()) << Describe(s);

  // The admin port: without a client certificate, or with one from another CA, no call.
  s = GetPolicy(grpc::CreateChannel(server.admin_address(), TlsCredentials()));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << Describe(s);
  s = GetPolicy(
      grpc::CreateChannel(server.admin_address(), TlsCredentials(pki.rogue_cert, pki.rogue_key)));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << Describe(s);
  s = GetPolicy(grpc::CreateChannel(server.admin_address(), grpc::InsecureChannelCredentials()));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << Describe(s);

  // With a certificate the CA signed: in, and the token is still required.
  auto admin =
      grpc::CreateChannel(server.admin_address(), TlsCredentials(pki.client_cert, pki.client_key));
  s = GetPolicy(admin);
  EXPECT_TRUE(s.ok()) << Describe(s);
  EXPECT_EQ(GetPolicy(admin, "").error_code(), grpc::StatusCode::UNAUTHENTICATED);

  EXPECT_THAT(server.Stderr(), HasSubstr("the AdminService port requires client certificates"));
}

// The moderator commands reach a TLS admin port that requires client certificates.
TEST_F(SecurityTest, TheCliTalksToATlsAdminPortWithAClientCertificate) {
  REQUIRE_CERTIFICATES();
  const Pki& pki = Certificates();
  FedwalldProcess& server =
      Start({"--tls-cert", pki.server_cert, "--tls-key", pki.server_key, "--admin-client-ca",
             pki.ca_cert, "--admin-listen", "127.0.0.1:0"});
  ASSERT_TRUE(server.WaitUntilListening(kStartTimeout)) << server.Stderr();
  const std::vector<std::string> base = {FEDWALL_CLI, "policy", "status", "--server",
                                         server.admin_address(), "--token-file", token_file_};

  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> argv = base;
    argv.insert(argv.end(), extra.begin(), extra.end());
    return fedwall::testing::RunCommand(argv);
  };
  fedwall::testing::CommandResult ok = with({"--ca-file", pki.server_cert, "--client-cert",
                                             pki.client_cert, "--client-key", pki.client_key});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_THAT(ok.out, HasSubstr("version"));

  // Plaintext, or TLS without the client certificate: one error line, exit 1.
  for (const auto& extra : {std::vector<std::string>{},
                            std::vector<std::string>{"--ca-file", pki.server_cert}}) {
    fedwall::testing::CommandResult refused = with(extra);
    EXPECT_EQ(refused.exit_code, 1) << refused.out;
    EXPECT_EQ(std::count(refused.err.begin(), refused.err.end(), '\n'), 1) << refused.err;
  }
}

TEST_F(SecurityTest, MutualTlsOnASharedPortCoversTheDataPlaneToo) {
  REQUIRE_CERTIFICATES();
  const Pki& pki = Certificates();
  FedwalldProcess& server = Start({"--tls-cert", pki.server_cert, "--tls-key", pki.server_key,
                                   "--admin-client-ca", pki.ca_cert});
  ASSERT_TRUE(server.WaitUntilListening(kStartTimeout)) << server.Stderr();
  EXPECT_FALSE(
      Evaluate(grpc::CreateChannel(server.address(), TlsCredentials()), Activity("clean-note.json"))
          .ok());
  auto with_cert =
      grpc::CreateChannel(server.address(), TlsCredentials(pki.client_cert, pki.client_key));
  grpc::Status s = Evaluate(with_cert, Activity("clean-note.json"));
  EXPECT_TRUE(s.ok()) << Describe(s);
  s = GetPolicy(with_cert);
  EXPECT_TRUE(s.ok()) << Describe(s);
}

TEST_F(SecurityTest, UnusableTlsFilesStopTheStartWithTheirName) {
  REQUIRE_CERTIFICATES();
  const Pki& pki = Certificates();
  std::string err;
  const std::string missing = dir_ + "/missing.pem";
  EXPECT_EQ(StartFails({"--tls-cert", missing, "--tls-key", pki.server_key}, true, &err), 1);
  EXPECT_THAT(err, HasSubstr("server.tls_cert_file: cannot open PEM file " + missing));

  // A key file given as the certificate (and the other way round).
  EXPECT_EQ(StartFails({"--tls-cert", pki.server_key, "--tls-key", pki.server_key}, true, &err), 1);
  EXPECT_THAT(err, HasSubstr("server.tls_cert_file: PEM file " + pki.server_key +
                             " holds no \"-----BEGIN CERTIFICATE-----\" block"));
  EXPECT_THAT(err, Not(HasSubstr("PRIVATE KEY-----\nMII")));

  // A key that does not belong to the certificate.
  EXPECT_EQ(StartFails({"--tls-cert", pki.server_cert, "--tls-key", pki.client_key}, true, &err),
            1);
  EXPECT_THAT(err, HasSubstr("do not belong together"));
  EXPECT_THAT(err, HasSubstr(pki.client_key));

  // Only one of the pair: a configuration error (exit code 2).
  EXPECT_EQ(StartFails({"--tls-cert", pki.server_cert}, true, &err), 2);
  EXPECT_THAT(err, HasSubstr("server.tls_cert_file and server.tls_key_file go together"));
  EXPECT_EQ(StartFails({"--admin-client-ca", pki.ca_cert}, true, &err), 2);
  EXPECT_THAT(err, HasSubstr("server.admin_client_ca_file needs TLS"));
}

// ---- Admin ports on the network ---------------------------------------------------------------

TEST_F(SecurityTest, RefusesToServeAdminToTheNetworkWithoutAToken) {
  std::string err;
  EXPECT_EQ(StartFails({"--listen", "0.0.0.0:0"}, /*with_token=*/false, &err), 1);
  EXPECT_EQ(err,
            "fedwalld: refusing to start: the AdminService on 0.0.0.0:0 (server.listen) is "
            "reachable from the network and no admin token is configured; set "
            "server.admin_token_file (--admin-token-file), or bind it to 127.0.0.1 "
            "(server.admin_listen serves the AdminService apart from the data plane)\n");

  EXPECT_EQ(StartFails({"--admin-listen", "[::]:0"}, false, &err), 1);
  EXPECT_THAT(err, HasSubstr("the AdminService on [::]:0 (server.admin_listen) is reachable"));

  EXPECT_EQ(StartFails({"--admin-http-listen", "0.0.0.0:0"}, false, &err), 1);
  EXPECT_THAT(err, HasSubstr("the admin HTTP port on 0.0.0.0:0 (server.admin_http_listen)"));

  // Nothing was created: the refusal comes before the store is opened.
  EXPECT_FALSE(fs::exists(dir_ + "/fedwall.db"));
}

TEST_F(SecurityTest, LoopbackAdminWithoutATokenStillStarts) {
  FedwalldProcess& server = Start({"--admin-http-listen", "127.0.0.1:0"}, /*with_token=*/false);
  ASSERT_TRUE(server.WaitUntilListening(kStartTimeout)) << server.Stderr();
  EXPECT_THAT(server.Stderr(), HasSubstr("no admin token file configured"));
  auto channel = grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials());
  EXPECT_EQ(GetPolicy(channel).error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(SecurityTest, DataPlaneOnTheNetworkWithAdminOnLoopbackStarts) {
  FedwalldProcess& server =
      Start({"--listen", "0.0.0.0:0", "--admin-listen", "127.0.0.1:0"}, /*with_token=*/false);
  ASSERT_TRUE(server.WaitUntilListening(kStartTimeout)) << server.Stderr();
}

TEST_F(SecurityTest, AdminOnTheNetworkWithATokenStarts) {
  FedwalldProcess& server = Start({"--admin-listen", "0.0.0.0:0"}, /*with_token=*/true);
  ASSERT_TRUE(server.WaitUntilListening(kStartTimeout)) << server.Stderr();
}

// ---- Secrets ----------------------------------------------------------------------------------

TEST_F(SecurityTest, TheTokenAndSessionIdsNeverReachTheLogs) {
  FedwalldProcess& server = Start({"--admin-http-listen", "127.0.0.1:0"});
  ASSERT_TRUE(server.WaitUntilListening(kStartTimeout)) << server.Stderr();
  std::string http_address;
  WaitFor([&] {
    for (absl::string_view line : absl::StrSplit(server.Stdout(), '\n')) {
      if (absl::ConsumePrefix(&line, "admin http listening on ")) {
        http_address = std::string(line);
      }
    }
    return !http_address.empty() && absl::StrContains(server.Stdout(), http_address + "\n");
  });
  ASSERT_FALSE(http_address.empty()) << server.Stdout();

  // gRPC: no token, wrong tokens (two that hold the real one), the right one.
  auto channel = grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials());
  const std::string token = kToken;
  for (const std::string& wrong : std::vector<std::string>{
           "", "Bearer nope", absl::StrCat("Bearer ", token, "x"), absl::StrCat("Bearer x", token),
           absl::StrCat("Basic ", token), token}) {
    EXPECT_EQ(CreateBlock(channel, "evil.example", wrong).error_code(),
              grpc::StatusCode::UNAUTHENTICATED)
        << wrong;
  }
  grpc::Status s = CreateBlock(channel, "evil.example");
  EXPECT_TRUE(s.ok()) << Describe(s);
  s = GetPolicy(channel);
  EXPECT_TRUE(s.ok()) << Describe(s);
  s = Evaluate(channel, Activity("casino-note.json"));  // may write a flag
  EXPECT_TRUE(s.ok()) << Describe(s);

  // HTTP: a wrong login (holding the token), the right one, a call with the session, logout.
  const std::vector<std::string> json = {"Content-Type: application/json", "X-Fedwall-Request: 1"};
  HttpResponse r = Http(http_address, "POST", "/login", json,
                        absl::StrCat(R"({"token":")", token, R"(-wrong"})"));
  EXPECT_EQ(r.status, 401) << r.head << r.body;
  EXPECT_THAT(r.body, Not(HasSubstr(token)));
  r = Http(http_address, "POST", "/login", json, absl::StrCat(R"({"token":")", token, R"("})"));
  ASSERT_EQ(r.status, 200) << r.head << r.body;
  const std::string session = SessionCookie(r);
  ASSERT_GE(session.size(), 16u) << r.head;
  const std::string cookie = absl::StrCat("Cookie: fedwall_session=", session);
  r = Http(http_address, "GET", "/api/flags", {cookie});
  EXPECT_EQ(r.status, 200) << r.head << r.body;
  r = Http(http_address, "GET", "/api/flags", {"Cookie: fedwall_session=" + token});
  EXPECT_EQ(r.status, 401) << r.head << r.body;
  r = Http(http_address, "POST", "/logout", {cookie, "X-Fedwall-Request: 1"});
  EXPECT_EQ(r.status, 200) << r.head << r.body;
  r = Http(http_address, "GET", "/api/flags", {cookie});
  EXPECT_EQ(r.status, 401) << r.head << r.body;

  channel.reset();  // an open connection would hold the drain for its whole timeout
  server.Signal(SIGTERM);
  EXPECT_EQ(server.WaitExit(absl::Seconds(20)), 0);
  const std::string out = server.Stdout();
  const std::string err = server.Stderr();
  // The log did record the events (so it was not silent), without the secrets.
  EXPECT_THAT(err, HasSubstr("review page: failed login from"));
  EXPECT_THAT(err, HasSubstr("domain block set: evil.example"));
  EXPECT_THAT(err, Not(HasSubstr(token)));
  EXPECT_THAT(out, Not(HasSubstr(token)));
  EXPECT_THAT(err, Not(HasSubstr(session)));
  EXPECT_THAT(out, Not(HasSubstr(session)));
}

TEST_F(SecurityTest, ABadTokenFileIsReportedWithoutItsContents) {
  WriteFile(token_file_, absl::StrCat(kToken, " trailing-part\n"));  // a space: refused
  std::string err;
  EXPECT_EQ(StartFails({}, /*with_token=*/true, &err), 1);
  EXPECT_THAT(err, HasSubstr(token_file_));
  EXPECT_THAT(err, Not(HasSubstr(kToken)));
  EXPECT_THAT(err, Not(HasSubstr("trailing-part")));
}

TEST_F(SecurityTest, WarnsWhenTheTokenFileIsReadableByOthers) {
  fs::permissions(token_file_, fs::perms::group_read | fs::perms::others_read,
                  fs::perm_options::add);
  FedwalldProcess& server = Start({});
  ASSERT_TRUE(server.WaitUntilListening(kStartTimeout)) << server.Stderr();
  EXPECT_THAT(server.Stderr(), HasSubstr("server.admin_token_file " + token_file_ +
                                         " can be read or written by other users (mode 0644)"));
  EXPECT_THAT(server.Stderr(), Not(HasSubstr(kToken)));
}

TEST_F(SecurityTest, WarnsAboutAShortToken) {
  WriteFile(token_file_, "sh0rt-t0ken\n");
  FedwalldProcess& server = Start({});
  ASSERT_TRUE(server.WaitUntilListening(kStartTimeout)) << server.Stderr();
  EXPECT_THAT(server.Stderr(), HasSubstr("is shorter than 16 characters"));
  EXPECT_THAT(server.Stderr(), Not(HasSubstr("sh0rt-t0ken")));
  EXPECT_THAT(server.Stderr(), Not(HasSubstr("can be read or written by other users")));
}

// ---- The store --------------------------------------------------------------------------------

mode_t Mode(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

TEST_F(SecurityTest, TheStoreFilesAreReadableByTheOwnerOnly) {
  const mode_t old_umask = umask(022);  // a common umask: files would be 0644 by default
  FedwalldProcess& server = Start({});
  umask(old_umask);
  ASSERT_TRUE(server.WaitUntilListening(kStartTimeout)) << server.Stderr();
  auto channel = grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials());
  for (const char* activity : {"casino-note.json", "giveaway-note.json", "clean-note.json"}) {
    grpc::Status s = Evaluate(channel, Activity(activity));
    EXPECT_TRUE(s.ok()) << Describe(s);
  }
  grpc::Status s = CreateBlock(channel, "evil.example");  // a write to the store
  EXPECT_TRUE(s.ok()) << Describe(s);
  channel.reset();  // an open connection would hold the drain for its whole timeout

  const std::string db = dir_ + "/fedwall.db";
  for (const std::string& path : {db, db + "-wal", db + "-shm"}) {
    ASSERT_TRUE(fs::exists(path)) << path;
    EXPECT_EQ(Mode(path), 0600u) << path << " has mode 0" << std::oct << Mode(path);
  }
  server.Signal(SIGTERM);
  EXPECT_EQ(server.WaitExit(absl::Seconds(20)), 0);
  EXPECT_EQ(Mode(db), 0600u);
}

}  // namespace
}  // namespace fedwall::testing
