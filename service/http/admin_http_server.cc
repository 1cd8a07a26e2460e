#include "service/http/admin_http_server.h"

#include <httplib.h>

#include <thread>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "fedwall/v1/policy_service.pb.h"
#include "service/admin_service.h"
#include "service/http/assets.h"
#include "service/http/json.h"
#include "service/http/metrics.h"
#include "service/http/post_view.h"
#include "service/http/sessions.h"
#include "service/log.h"
#include "simdjson.h"

namespace fedwall::service::http {
namespace {

constexpr char kJson[] = "application/json; charset=utf-8";
constexpr int32_t kMaxPageSize = 200;
constexpr size_t kMaxFilterBytes = 1024;  // status, rule, domain, page_token query values
constexpr size_t kMaxNoteBytes = 4096;    // note and moderator of a resolution

void SendJson(httplib::Response& res, int status, const std::string& body) {
  res.status = status;
  res.set_content(body, kJson);
}

void SendError(httplib::Response& res, int status, std::string_view message) {
  SendJson(res, status, JsonError(message));
}

int HttpStatus(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kInvalidArgument:
      return 400;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kFailedPrecondition:
      return 409;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kUnavailable:
      return 503;
    default:
      return 500;
  }
}

void SendStatus(httplib::Response& res, const absl::Status& s) {
  SendError(res, HttpStatus(s), std::string_view(s.message().data(), s.message().size()));
}

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone());
}

const char* StatusName(store::FlagStatus s) { return store::FlagStatusName(s); }

// Writes the fields of a flag shared by the list and the detail.
void WriteFlagSummary(const store::Flag& f, JsonOut& j) {
  j.Key("id");
  j.String(f.id);
  j.Key("status");
  j.String(StatusName(f.status));
  j.Key("actor");
  j.String(f.data.actor);
  j.Key("actor_domain");
  j.String(f.data.actor_domain);
  j.Key("score");
  j.Double(static_cast<double>(f.data.score_milli) / 1000.0);
  j.Key("created_at");
  j.String(Rfc3339(f.data.created_at));
  j.Key("resolved_at");
  if (f.resolved_at) {
    j.String(Rfc3339(*f.resolved_at));
  } else {
    j.Null();
  }
  j.Key("moderator");
  j.String(f.moderator);
  j.Key("note");
  j.String(f.note);
  j.Key("held");  // the inbox gateway holds the delivery until a decision
  if (f.held) {
    j.BeginObject();
    j.Key("deliver_before");
    j.String(Rfc3339(f.held->deliver_before));
    j.Key("state");
    j.String(store::HeldStateName(f.held->state));
    j.Key("detail");
    j.String(f.held->detail);
    j.EndObject();
  } else {
    j.Null();
  }
  j.Key("rules");
  j.BeginArray();
  for (const std::string& r : f.data.rule_ids) j.String(r);
  j.EndArray();
}

void WriteDomainStatus(const DomainStatus& d, JsonOut& j) {
  j.BeginObject();
  j.Key("domain");
  j.String(d.domain);
  j.Key("blocked");
  j.Bool(d.blocked);
  j.Key("severity");
  j.String(d.severity);
  j.Key("covering_domain");
  j.String(d.covering_domain);
  j.Key("reject_media");
  j.Bool(d.reject_media);
  j.Key("reject_reports");
  j.Bool(d.reject_reports);
  j.Key("api_block");
  j.Bool(d.api_block);
  j.Key("source");
  j.String(d.source);
  j.Key("public_comment");
  j.String(d.public_comment);
  j.EndObject();
}

void WriteMatches(const store::Flag& f, JsonOut& j) {
  fedwall::v1::EvaluateResponse stored;
  bool ok = stored.ParseFromString(f.data.matches);
  j.BeginArray();
  if (ok) {
    for (const fedwall::v1::RuleMatch& m : stored.matches()) {
      j.BeginObject();
      j.Key("rule_id");
      j.String(m.rule_id());
      j.Key("reason");
      j.String(m.reason());
      j.Key("score");
      j.Double(m.score());
      j.Key("monitor");
      j.Bool(m.monitor());
      j.Key("evidence");
      j.BeginArray();
      for (const fedwall::v1::Evidence& e : m.evidence()) {
        j.BeginObject();
        j.Key("field");
        j.String(e.field());
        j.Key("text");
        j.String(e.text());
        j.Key("start");
        j.Int(e.start());
        j.Key("end");
        j.Int(e.end());
        j.EndObject();
      }
      j.EndArray();
      j.EndObject();
    }
  }
  j.EndArray();
}

// "host:port" -> host (brackets removed) and port; false when it does not look so.
bool SplitHostPort(const std::string& listen, std::string* host, int* port) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  *host = listen.substr(0, colon);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  return absl::SimpleAtoi(listen.substr(colon + 1), port) && *port >= 0 && *port <= 65535;
}

class ServerImpl final : public AdminHttpServer {
 public:
  ServerImpl(const AdminHttpOptions& options, AdminOps* ops, Stats* stats)
      : options_(options),
        ops_(ops),
        stats_(stats),
        sessions_(SessionOptions{options.max_sessions, options.session_ttl,
                                 [] { return absl::Now(); }}) {}
  ~ServerImpl() override { Stop(); }

  absl::Status Init();
  std::string address() const override { return address_; }
  int port() const override { return port_; }
  void Stop() override;

 private:
  void Routes();
  bool LoggedIn(const httplib::Request& req) {
    return sessions_.Valid(CookieValue(req.get_header_value("Cookie"), kSessionCookie));
  }
  // Sends 401 and returns false when the request has no valid session.
  bool RequireSession(const httplib::Request& req, httplib::Response& res) {
    if (LoggedIn(req)) return true;
    SendError(res, 401, "not logged in (POST /login with the admin token)");
    return false;
  }
  // Sends 403 and returns false when a POST lacks the CSRF header.
  static bool RequireCsrfHeader(const httplib::Request& req, httplib::Response& res) {
    if (req.get_header_value(kCsrfHeader) == "1") return true;
    SendError(res, 403, absl::StrCat("missing header ", kCsrfHeader, ": 1"));
    return false;
  }

  void Login(const httplib::Request& req, httplib::Response& res);
  void Logout(const httplib::Request& req, httplib::Response& res);
  void ListFlags(const httplib::Request& req, httplib::Response& res);
  void GetFlag(const httplib::Request& req, httplib::Response& res);
  void ResolveFlag(const httplib::Request& req, httplib::Response& res);
  void Metrics(const httplib::Request& req, httplib::Response& res);

  const AdminHttpOptions options_;
  AdminOps* const ops_;
  Stats* const stats_;
  SessionStore sessions_;
  httplib::Server server_;
  std::thread thread_;
  std::string address_;
  int port_ = 0;
  absl::Mutex stop_mu_;
  bool stopped_ ABSL_GUARDED_BY(stop_mu_) = false;
};

absl::Status ServerImpl::Init() {
  std::string host;
  int port = 0;
  if (!SplitHostPort(options_.listen, &host, &port)) {
    return absl::InvalidArgumentError(
        absl::StrCat("admin_http_listen must be host:port, got \"", options_.listen, "\""));
  }
  int threads = std::max(1, options_.threads);
  server_.new_task_queue = [threads] {
    return new httplib::ThreadPool(static_cast<size_t>(threads));
  };
  server_.set_payload_max_length(options_.max_body_bytes);
  server_.set_read_timeout(
      std::chrono::microseconds(absl::ToInt64Microseconds(options_.read_timeout)));
  server_.set_write_timeout(
      std::chrono::microseconds(absl::ToInt64Microseconds(options_.write_timeout)));
  server_.set_keep_alive_timeout(5);
  server_.set_keep_alive_max_count(100);
  server_.set_default_headers({
      {"Content-Security-Policy", kContentSecurityPolicy},
      {"X-Content-Type-Options", "nosniff"},
      {"Referrer-Policy", "no-referrer"},
      {"X-Frame-Options", "DENY"},
      {"Cross-Origin-Opener-Policy", "same-origin"},
      {"Cross-Origin-Resource-Policy", "same-origin"},
      {"Cache-Control", "no-store"},
  });
  server_.set_error_handler(httplib::Server::HandlerWithResponse(
      [](const httplib::Request&, httplib::Response& res) -> httplib::Server::HandlerResponse {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        switch (res.status) {
          case 404:
            SendError(res, 404, "not found");
            break;
          case 413:
            SendError(res, 413, "request body too large");
            break;
          case 405:
            SendError(res, 405, "method not allowed");
            break;
          default:
            SendError(res, res.status, "request refused");
            break;
        }
        return httplib::Server::HandlerResponse::Handled;
      }));
  server_.set_exception_handler([](const httplib::Request&, httplib::Response& res,
                                   std::exception_ptr) { SendError(res, 500, "internal error"); });
  Routes();

  port_ =
      port == 0 ? server_.bind_to_any_port(host) : (server_.bind_to_port(host, port) ? port : -1);
  if (port_ <= 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options_.listen,
                     " for the admin HTTP port (address in use or not valid?)"));
  }
  address_ = host.find(':') != std::string::npos ? absl::StrCat("[", host, "]:", port_)
                                                 : absl::StrCat(host, ":", port_);
  thread_ = std::thread([this] { server_.listen_after_bind(); });
  // stop() is a no-op until the accept loop runs: wait for it, so Stop() never hangs.
  for (int i = 0; i < 5000 && !server_.is_running(); ++i) absl::SleepFor(absl::Milliseconds(1));
  if (options_.token.empty()) {
    LogWarning(
        "admin HTTP port: no admin token configured, so nobody can log in to the review page "
        "(/metrics still answers loopback peers)");
  }
  return absl::OkStatus();
}

void ServerImpl::Stop() {
  absl::MutexLock lock(&stop_mu_);
  if (stopped_) return;
  stopped_ = true;
  server_.stop();
  if (thread_.joinable()) thread_.join();
}

void ServerImpl::Routes() {
  for (const Asset& asset : Assets()) {
    server_.Get(std::string(asset.path), [asset](const httplib::Request&, httplib::Response& res) {
      res.set_content(asset.body.data(), asset.body.size(),
                      std::string(asset.content_type).c_str());
    });
  }
  server_.Get("/metrics",
              [this](const httplib::Request& req, httplib::Response& res) { Metrics(req, res); });
  server_.Post("/login",
               [this](const httplib::Request& req, httplib::Response& res) { Login(req, res); });
  server_.Post("/logout",
               [this](const httplib::Request& req, httplib::Response& res) { Logout(req, res); });
  server_.Get("/api/session", [this](const httplib::Request& req, httplib::Response& res) {
    SendJson(res, 200, LoggedIn(req) ? R"({"logged_in":true})" : R"({"logged_in":false})");
  });
  server_.Get("/api/flags",
              [this](const httplib::Request& req, httplib::Response& res) { ListFlags(req, res); });
  server_.Get(R"(/api/flags/([^/]+))",
              [this](const httplib::Request& req, httplib::Response& res) { GetFlag(req, res); });
  server_.Post(
      R"(/api/flags/([^/]+)/resolve)",
      [this](const httplib::Request& req, httplib::Response& res) { ResolveFlag(req, res); });
}

void ServerImpl::Login(const httplib::Request& req, httplib::Response& res) {
  if (!RequireCsrfHeader(req, res)) return;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  std::string_view token;
  if (parser.parse(req.body).get(root) != simdjson::SUCCESS ||
      root["token"].get_string().get(token) != simdjson::SUCCESS) {
    SendError(res, 400, "the body must be JSON: {\"token\": \"...\"}");
    return;
  }
  // CheckBearerToken compares in constant time for a given token length.
  if (!CheckBearerToken(absl::StrCat("Bearer ", absl::string_view(token.data(), token.size())),
                        options_.token)) {
    absl::SleepFor(options_.login_failure_delay);  // slows guessing
    LogWarning(absl::StrCat("review page: failed login from ", req.remote_addr));
    SendError(res, 401,
              options_.token.empty()
                  ? "no admin token is configured on the server, so nobody can log in"
                  : "wrong token");
    return;
  }
  absl::StatusOr<std::string> id = sessions_.Create();
  if (!id.ok()) {
    SendStatus(res, id.status());
    return;
  }
  res.set_header("Set-Cookie", absl::StrCat(kSessionCookie, "=", *id,
                                            "; HttpOnly; SameSite=Strict; Path=/; Max-Age=",
                                            absl::ToInt64Seconds(options_.session_ttl)));
  SendJson(res, 200, R"({"logged_in":true})");
}

void ServerImpl::Logout(const httplib::Request& req, httplib::Response& res) {
  if (!RequireCsrfHeader(req, res)) return;
  sessions_.Remove(CookieValue(req.get_header_value("Cookie"), kSessionCookie));
  res.set_header("Set-Cookie",
                 absl::StrCat(kSessionCookie, "=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"));
  SendJson(res, 200, R"({"logged_in":false})");
}

void ServerImpl::ListFlags(const httplib::Request& req, httplib::Response& res) {
  if (!RequireSession(req, res)) return;
  for (const char* name : {"status", "rule", "domain", "page_token", "page_size"}) {
    if (req.get_param_value(name).size() > kMaxFilterBytes) {
      SendError(
          res, 400,
          absl::StrCat("query parameter ", name, " is longer than ", kMaxFilterBytes, " bytes"));
      return;
    }
  }
  store::FlagQuery query;
  std::string status = req.get_param_value("status");
  if (status == "pending") {
    query.status = store::FlagStatus::kPending;
  } else if (status == "approved") {
    query.status = store::FlagStatus::kApproved;
  } else if (status == "removed") {
    query.status = store::FlagStatus::kRemoved;
  } else if (!status.empty() && status != "all") {
    SendError(res, 400, "status must be pending, approved, removed or all");
    return;
  }
  query.rule_id = req.get_param_value("rule");
  if (std::string domain = req.get_param_value("domain"); !domain.empty()) {
    absl::StatusOr<std::string> normalised = RequestDomain(domain, "domain");
    if (!normalised.ok()) {
      SendStatus(res, normalised.status());
      return;
    }
    query.domain = *normalised;
  }
  query.page_size = 50;
  if (std::string size = req.get_param_value("page_size"); !size.empty()) {
    if (!absl::SimpleAtoi(size, &query.page_size) || query.page_size < 1 ||
        query.page_size > kMaxPageSize) {
      SendError(res, 400, absl::StrCat("page_size must be a number from 1 to ", kMaxPageSize));
      return;
    }
  }
  query.page_token = req.get_param_value("page_token");
  query.include_activity = false;
  absl::StatusOr<store::FlagPage> page = ops_->ListFlags(query);
  if (!page.ok()) {
    SendStatus(res, page.status());
    return;
  }
  JsonOut j;
  j.BeginObject();
  j.Key("flags");
  j.BeginArray();
  for (const store::Flag& f : page->flags) {
    j.BeginObject();
    WriteFlagSummary(f, j);
    j.EndObject();
  }
  j.EndArray();
  j.Key("next_page_token");
  j.String(page->next_page_token);
  j.EndObject();
  SendJson(res, 200, j.str());
}

void ServerImpl::GetFlag(const httplib::Request& req, httplib::Response& res) {
  if (!RequireSession(req, res)) return;
  std::string id = req.matches[1];
  if (id.size() > kMaxFilterBytes) {
    SendError(res, 400, "flag id too long");
    return;
  }
  absl::StatusOr<store::Flag> flag = ops_->GetFlag(id);
  if (!flag.ok()) {
    SendStatus(res, flag.status());
    return;
  }
  JsonOut j;
  j.BeginObject();
  j.Key("flag");
  j.BeginObject();
  WriteFlagSummary(*flag, j);
  j.Key("policy_version");
  j.String(flag->data.policy_version);
  j.Key("matches");
  WriteMatches(*flag, j);
  j.EndObject();
  j.Key("post");
  WritePostView(BuildPostView(flag->data.activity_json), j);
  j.Key("domain");
  WriteDomainStatus(ops_->LookupDomain(flag->data.actor_domain), j);
  j.EndObject();
  SendJson(res, 200, j.str());
}

void ServerImpl::ResolveFlag(const httplib::Request& req, httplib::Response& res) {
  if (!RequireCsrfHeader(req, res) || !RequireSession(req, res)) return;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  simdjson::dom::object body;
  if (parser.parse(req.body).get(root) != simdjson::SUCCESS ||
      root.get_object().get(body) != simdjson::SUCCESS) {
    SendError(res, 400, "the body must be a JSON object");
    return;
  }
  ResolveRequest r;
  r.id = req.matches[1];
  std::string_view resolution;
  if (body["resolution"].get_string().get(resolution) != simdjson::SUCCESS) {
    SendError(res, 400, "resolution is required: \"approve\" or \"remove\"");
    return;
  }
  if (resolution == "approve") {
    r.resolution = store::FlagStatus::kApproved;
  } else if (resolution == "remove") {
    r.resolution = store::FlagStatus::kRemoved;
  } else {
    SendError(res, 400, "resolution must be \"approve\" or \"remove\"");
    return;
  }
  for (auto [key, target] : {std::pair{"note", &r.note}, std::pair{"moderator", &r.moderator}}) {
    simdjson::dom::element e;
    if (body[key].get(e) != simdjson::SUCCESS || e.is_null()) continue;
    std::string_view s;
    if (e.get_string().get(s) != simdjson::SUCCESS || s.size() > kMaxNoteBytes) {
      SendError(res, 400,
                absl::StrCat(key, " must be a string of at most ", kMaxNoteBytes, " bytes"));
      return;
    }
    *target = std::string(s);
  }
  if (simdjson::dom::element e; body["block_domain"].get(e) == simdjson::SUCCESS && !e.is_null()) {
    if (e.get_bool().get(r.block_domain) != simdjson::SUCCESS) {
      SendError(res, 400, "block_domain must be true or false");
      return;
    }
  }
  if (r.moderator.empty()) r.moderator = "web";
  if (r.resolution == store::FlagStatus::kApproved && r.block_domain) {
    SendError(res, 400, "block_domain goes with remove, not approve");
    return;
  }
  absl::StatusOr<store::Flag> flag = ops_->ResolveFlag(r);
  if (!flag.ok()) {
    SendStatus(res, flag.status());
    return;
  }
  LogInfo(absl::StrCat("review page: flag ", flag->id, " ", StatusName(flag->status), " by ",
                       flag->moderator, r.block_domain ? " (domain blocked)" : ""));
  JsonOut j;
  j.BeginObject();
  j.Key("flag");
  j.BeginObject();
  WriteFlagSummary(*flag, j);
  j.EndObject();
  j.Key("domain");
  WriteDomainStatus(ops_->LookupDomain(flag->data.actor_domain), j);
  j.EndObject();
  SendJson(res, 200, j.str());
}

void ServerImpl::Metrics(const httplib::Request& req, httplib::Response& res) {
  if (!IsLoopbackAddress(req.remote_addr) &&
      !CheckBearerToken(req.get_header_value("Authorization"), options_.token)) {
    res.set_header("WWW-Authenticate", "Bearer");
    SendError(res, 401,
              "/metrics needs Authorization: Bearer <admin token> from a non-loopback address");
    return;
  }
  res.set_content(RenderMetrics(stats_->Snapshot()), kMetricsContentType);
}

}  // namespace

bool IsLoopbackAddress(std::string_view address) {
  if (address == "::1") return true;
  if (address.substr(0, 7) == "::ffff:") address.remove_prefix(7);
  return address.substr(0, 4) == "127.";
}

absl::StatusOr<std::unique_ptr<AdminHttpServer>> AdminHttpServer::Start(
    const AdminHttpOptions& options, AdminOps* ops, Stats* stats) {
  auto server = std::make_unique<ServerImpl>(options, ops, stats);
  if (absl::Status s = server->Init(); !s.ok()) return s;
  return server;
}

}  // namespace fedwall::service::http
