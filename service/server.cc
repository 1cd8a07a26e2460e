#include "service/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <string_view>
#include <thread>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "engine/counters/memory_counter_store.h"
#include "service/admin_ops.h"
#include "service/admin_service.h"
#include "service/flag_writer.h"
#include "service/gateway/gateway.h"
#include "service/gateway_decider.h"
#include "service/http/admin_http_server.h"
#include "service/log.h"
#include "service/policy_manager.h"
#include "service/policy_service.h"
#include "service/state/redis_counter_store.h"
#include "service/stats.h"
#include "service/store/review_store.h"
#include "service/worker_pool.h"

namespace fedwall::service {
namespace {

// Admin tokens shorter than this get a warning at start.
constexpr size_t kShortToken = 16;

// Warns when `path` (a secret: the token file, the TLS key) can be read by other users.
void WarnIfReadableByOthers(const std::string& path, std::string_view setting) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0 || (st.st_mode & (S_IRWXG | S_IRWXO)) == 0) return;
  char mode[8];
  std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
  LogWarning(absl::StrCat(absl::string_view(setting.data(), setting.size()), " ", path,
                          " can be read or written by other users (mode ", mode,
                          "); chmod 600 it"));
}

// "host:port" with the bound port in place of the configured one.
std::string WithPort(const std::string& listen, int port) {
  size_t colon = listen.rfind(':');
  return absl::StrCat(colon == std::string::npos ? listen : listen.substr(0, colon), ":", port);
}

class ServerImpl final : public Server {
 public:
  explicit ServerImpl(const ServiceConfig& config) : config_(config) {}
  ~ServerImpl() override { Shutdown(); }

  absl::Status Init();

  std::string address() const override { return address_; }
  std::string admin_address() const override { return admin_address_; }
  std::string admin_http_address() const override {
    return admin_http_ ? admin_http_->address() : std::string();
  }
  std::string gateway_address() const override {
    return gateway_ ? gateway_->address() : std::string();
  }
  std::string policy_version() const override { return policies_->Current()->version(); }
  void RequestReload(const std::string& reason) override { policies_->RequestReload(reason); }
  void Shutdown() override;

 private:
  absl::StatusOr<std::unique_ptr<grpc::Server>> Listen(const std::string& listen, bool data_plane,
                                                       bool admin, std::string* bound);
  absl::Status StartGateway(const DataPlaneLimits& limits);
  // Plaintext, TLS, or (for the AdminService port with admin_client_ca_file) mutual TLS.
  std::shared_ptr<grpc::ServerCredentials> Credentials(bool admin) const;

  const ServiceConfig config_;
  Stats stats_;
  std::unique_ptr<store::ReviewStore> store_;
  // Before everything that evaluates: it outlives them.
  std::unique_ptr<counters::CounterStore> counter_store_;
  std::unique_ptr<PolicyManager> policies_;
  WorkerPool::Options pool_options_;
  std::unique_ptr<WorkerPool> pool_;
  std::unique_ptr<FlagWriter> flags_;
  std::unique_ptr<PolicyServiceImpl> policy_service_;
  std::unique_ptr<AdminOps> admin_ops_;
  std::unique_ptr<AdminServiceImpl> admin_service_;
  std::unique_ptr<http::AdminHttpServer> admin_http_;
  std::unique_ptr<GatewayDecider> gateway_decider_;
  std::unique_ptr<gateway::InboxGateway> gateway_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<grpc::Server> admin_server_;
  std::string address_;
  std::string admin_address_;
  TlsFiles tls_;  // read in Init, cleared once the ports listen
  absl::Mutex shutdown_mu_;
  bool shut_down_ = false;
  // With a shared store: the thread that reads other nodes' domain blocks.
  std::thread block_sync_;
  absl::Notification stop_sync_;
};

absl::Status ServerImpl::Init() {
  if (absl::Status s = config_.Validate(); !s.ok()) return s;
  // An admin port on the network without a token: refused before anything is opened.
  if (absl::Status s = CheckAdminExposure(config_); !s.ok()) return s;

  std::string token;
  if (!config_.admin_token_file.empty()) {
    absl::StatusOr<std::string> read = ReadTokenFile(config_.admin_token_file);
    if (!read.ok()) return read.status();
    token = *std::move(read);
    WarnIfReadableByOthers(config_.admin_token_file, "server.admin_token_file");
    if (token.size() < kShortToken) {
      // gRPC calls are not slowed down after a wrong token: only length makes guessing hard.
      LogWarning(absl::StrCat("the admin token in ", config_.admin_token_file, " is shorter than ",
                              kShortToken,
                              " characters; use a long random one (openssl rand "
                              "-hex 32)"));
    }
  } else {
    LogWarning(
        "no admin token file configured: every AdminService call is refused "
        "(set server.admin_token_file or --admin-token-file)");
  }

  absl::StatusOr<TlsFiles> tls = ReadTlsFiles(config_);
  if (!tls.ok()) return tls.status();
  tls_ = *std::move(tls);
  if (!config_.tls_key_file.empty()) {
    WarnIfReadableByOthers(config_.tls_key_file, "server.tls_key_file");
  }

  absl::StatusOr<std::unique_ptr<store::ReviewStore>> opened =
      store::OpenReviewStore(config_.store);
  if (!opened.ok()) {
    return absl::Status(opened.status().code(),
                        absl::StrCat("review store ", RedactedUrl(config_.store),
                                     ": ", opened.status().message()));
  }
  store_ = *std::move(opened);

  if (config_.state == "memory") {
    counters::MemoryCounterStore::Options memory;
    memory.max_memory_bytes = config_.state_max_memory_bytes;
    counter_store_ = std::make_unique<counters::MemoryCounterStore>(memory);
  } else {
    state::RedisOptions redis;
    redis.timeout = config_.state_timeout;
    absl::StatusOr<std::unique_ptr<state::RedisCounterStore>> r =
        state::OpenRedisCounterStore(config_.state, redis);
    if (!r.ok()) {
      return absl::Status(r.status().code(),
                          absl::StrCat("counter state: ", r.status().message()));
    }
    if (absl::Status ping = (*r)->Ping(); !ping.ok()) {
      LogWarning(absl::StrCat("counter state ", (*r)->description(), " does not answer (",
                              ping.message(),
                              "): counters are unknown, and rules over them silent, until it "
                              "does"));
    }
    counter_store_ = *std::move(r);
  }
  stats_.SetCounterStore(counter_store_.get());
  absl::StatusOr<std::vector<store::DomainBlock>> blocks = store_->ListDomainBlocks();
  if (!blocks.ok()) return blocks.status();

  PolicyManagerOptions policy_options;
  policy_options.policy_dir = config_.policy_dir;
  policy_options.watch = config_.watch;
  policy_options.debounce = config_.reload_debounce;
  policies_ = std::make_unique<PolicyManager>(policy_options, &stats_);
  ReloadOutcome first = policies_->LoadInitial(ToBlocklistEntries(*blocks));
  if (!first.ok) {
    size_t errors = 0;
    for (const Diagnostic& d : first.diagnostics)
      errors += d.severity == Diagnostic::Severity::kError;
    return absl::FailedPreconditionError(absl::StrCat("the policy in ", config_.policy_dir,
                                                      " does not compile (", errors,
                                                      " error(s), listed above); not starting"));
  }

  WorkerPool::Options pool_options;
  pool_options.threads = static_cast<size_t>(config_.workers);
  pool_options.evaluator.parse.max_bytes = config_.max_activity_bytes;
  pool_options.evaluator.parse.max_depth = config_.max_json_depth;
  pool_options_ = pool_options;
  pool_ = std::make_unique<WorkerPool>(pool_options);
  flags_ = std::make_unique<FlagWriter>(store_.get(), FlagWriter::Options{});

  DataPlaneLimits limits;
  limits.max_activity_bytes = config_.max_activity_bytes;
  limits.max_batch_items = config_.max_batch_items;
  limits.max_stream_in_flight = config_.max_stream_in_flight;
  policy_service_ = std::make_unique<PolicyServiceImpl>(
      policies_.get(), pool_.get(), flags_.get(), &stats_, counter_store_.get(), limits);
  admin_ops_ = std::make_unique<AdminOps>(policies_.get(), store_.get());
  admin_ops_->NoteLoadedBlocks(*blocks);
  if (store::IsPostgresUrl(config_.store)) {
    // Blocks other nodes make through their AdminService reach this node's policy.
    block_sync_ = std::thread([this] {
      while (!stop_sync_.WaitForNotificationWithTimeout(config_.store_sync_interval)) {
        if (absl::Status s = admin_ops_->SyncBlocksFromStore(); !s.ok()) {
          LogWarning(absl::StrCat("reading the domain blocks of the shared store: ",
                                  s.message()));
        }
      }
    });
  }
  admin_service_ = std::make_unique<AdminServiceImpl>(token, policies_.get(), store_.get(),
                                                      admin_ops_.get(), &stats_);

  // Before the admin ports open: approvals need the gateway to deliver held requests.
  if (!config_.gateway_listen.empty()) {
    if (absl::Status s = StartGateway(limits); !s.ok()) return s;
  }
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  bool separate_admin = !config_.admin_listen.empty();
  absl::StatusOr<std::unique_ptr<grpc::Server>> server =
      Listen(config_.listen, /*data_plane=*/true, /*admin=*/!separate_admin, &address_);
  if (!server.ok()) return server.status();
  server_ = *std::move(server);
  admin_address_ = address_;
  if (separate_admin) {
    absl::StatusOr<std::unique_ptr<grpc::Server>> admin =
        Listen(config_.admin_listen, /*data_plane=*/false, /*admin=*/true, &admin_address_);
    if (!admin.ok()) return admin.status();
    admin_server_ = *std::move(admin);
  }
  if (!config_.admin_http_listen.empty()) {
    http::AdminHttpOptions http_options;
    http_options.listen = config_.admin_http_listen;
    http_options.token = token;
    absl::StatusOr<std::unique_ptr<http::AdminHttpServer>> started =
        http::AdminHttpServer::Start(http_options, admin_ops_.get(), &stats_);
    if (!started.ok()) return started.status();
    admin_http_ = *std::move(started);
  }
  tls_ = TlsFiles{};  // the ports hold their TLS context; no need to keep the key around
  policies_->Start();
  return absl::OkStatus();
}

absl::Status ServerImpl::StartGateway(const DataPlaneLimits& limits) {
  gateway::GatewayOptions o;
  o.listen = config_.gateway_listen;
  o.upstream = config_.gateway_upstream;
  o.flag = config_.gateway_flag == "hold" ? gateway::FlagMode::kHold : gateway::FlagMode::kForward;
  o.inbox_paths = config_.gateway_inbox_paths;
  o.reject_status = config_.gateway_reject_status;
  o.trusted_proxies = config_.gateway_trusted_proxies;
  o.fail_open = config_.gateway_fail == "open";
  for (const std::string& e : config_.gateway_flag_effects) {
    v1::Effect effect = v1::EFFECT_UNSPECIFIED;
    if (e == "strip_media") effect = v1::EFFECT_STRIP_MEDIA;
    if (e == "mark_sensitive") effect = v1::EFFECT_MARK_SENSITIVE;
    if (e == "unlist") effect = v1::EFFECT_UNLIST;
    if (e == "followers_only") effect = v1::EFFECT_FOLLOWERS_ONLY;
    o.flag_effects.push_back(effect);
  }
  o.hold_window = config_.gateway_hold_window;
  o.max_body_bytes = std::min(config_.gateway_max_body_bytes, config_.max_activity_bytes);
  o.read_timeout = config_.gateway_read_timeout;
  o.upstream_timeout = config_.gateway_upstream_timeout;
  o.max_in_flight = config_.gateway_max_in_flight;
  o.max_connections = config_.gateway_max_connections;
  o.threads = pool_->size();
  AdminOps* ops = admin_ops_.get();
  gateway_decider_ = std::make_unique<GatewayDecider>(
      policies_.get(), flags_.get(), &stats_, counter_store_.get(), limits,
      pool_options_.evaluator,
      [ops](const std::string& flag_id) { ops->SettleHeldOf(flag_id); });
  absl::StatusOr<std::unique_ptr<gateway::InboxGateway>> started =
      gateway::InboxGateway::Start(std::move(o), gateway_decider_.get());
  if (!started.ok()) return started.status();
  gateway_ = *std::move(started);
  stats_.SetGatewayCounters(&gateway_->counters());
  gateway::InboxGateway* gw = gateway_.get();
  admin_ops_->SetHeldDeliverer(
      [gw](std::string raw, std::function<void(absl::Status)> done) {
        gw->Deliver(std::move(raw), std::move(done));
      },
      config_.gateway_upstream_timeout);
  LogInfo(absl::StrCat("inbox gateway on ", gateway_->address(), " in front of ",
                       config_.gateway_upstream, "; FLAG: ", config_.gateway_flag,
                       "; no decision: fail ", config_.gateway_fail));
  return absl::OkStatus();
}

std::shared_ptr<grpc::ServerCredentials> ServerImpl::Credentials(bool admin) const {
  if (tls_.cert_chain.empty()) return grpc::InsecureServerCredentials();
  const bool mtls = admin && !tls_.admin_client_ca.empty();
  grpc::SslServerCredentialsOptions options(
      mtls ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
           : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  if (mtls) options.pem_root_certs = tls_.admin_client_ca;
  options.pem_key_cert_pairs.push_back({tls_.private_key, tls_.cert_chain});
  return grpc::SslServerCredentials(options);
}

absl::StatusOr<std::unique_ptr<grpc::Server>> ServerImpl::Listen(const std::string& listen,
                                                                 bool data_plane, bool admin,
                                                                 std::string* bound) {
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(listen, Credentials(admin), &port);
  builder.SetMaxReceiveMessageSize(static_cast<int>(config_.max_message_bytes));
  // Bounds the calls one connection can have open at once.
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, 1000);
  if (data_plane) builder.RegisterService(policy_service_.get());
  if (admin) builder.RegisterService(admin_service_.get());
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    if (!tls_.cert_chain.empty()) {
      return absl::UnavailableError(absl::StrCat(
          "cannot listen on ", listen,
          " with TLS: the address is in use or not valid, or the "
          "certificate in server.tls_cert_file ",
          config_.tls_cert_file, " and the key in server.tls_key_file ", config_.tls_key_file,
          " are not valid or do not belong together",
          admin && !tls_.admin_client_ca.empty()
              ? absl::StrCat(", or server.admin_client_ca_file ", config_.admin_client_ca_file,
                             " is not a valid CA certificate")
              : ""));
    }
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", listen, " (address in use or not valid?)"));
  }
  grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService();
  if (health != nullptr) {
    health->SetServingStatus(true);
    if (data_plane) health->SetServingStatus("fedwall.v1.PolicyService", true);
    if (admin) health->SetServingStatus("fedwall.v1.AdminService", true);
  }
  *bound = WithPort(listen, port);
  return server;
}

void ServerImpl::Shutdown() {
  absl::MutexLock lock(&shutdown_mu_);
  if (shut_down_) return;
  shut_down_ = true;
  absl::Time deadline = absl::Now() + config_.drain_timeout;
  if (admin_http_) admin_http_->Stop();  // finishes the requests being served
  // The gateway's requests in flight are decided and answered before the pool stops.
  if (gateway_) gateway_->Stop(config_.drain_timeout);
  for (grpc::Server* s : {server_.get(), admin_server_.get()}) {
    if (s == nullptr) continue;
    if (grpc::HealthCheckServiceInterface* health = s->GetHealthCheckService()) {
      health->Shutdown();  // health checks answer NOT_SERVING from now on
    }
  }
  // Stops accepting calls, waits for the calls in flight until the deadline, then cancels them.
  std::thread admin_stop;
  if (admin_server_) {
    admin_stop =
        std::thread([this, deadline] { admin_server_->Shutdown(absl::ToChronoTime(deadline)); });
  }
  if (server_) server_->Shutdown(absl::ToChronoTime(deadline));
  if (admin_stop.joinable()) admin_stop.join();
  if (pool_) pool_->Stop();
  if (flags_) flags_->Stop();  // commits every flag already decided
  if (admin_service_) admin_service_->Stop();
  stop_sync_.Notify();
  if (block_sync_.joinable()) block_sync_.join();
  if (policies_) policies_->Stop();
  if (server_) server_->Wait();
  if (admin_server_) admin_server_->Wait();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Server>> Server::Start(const ServiceConfig& config) {
  auto server = std::make_unique<ServerImpl>(config);
  if (absl::Status s = server->Init(); !s.ok()) return s;
  return server;
}

}  // namespace fedwall::service
