#include "service/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <thread>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "service/admin_ops.h"
#include "service/admin_service.h"
#include "service/flag_writer.h"
#include "service/http/admin_http_server.h"
#include "service/log.h"
#include "service/policy_manager.h"
#include "service/policy_service.h"
#include "service/stats.h"
#include "service/store/review_store.h"
#include "service/worker_pool.h"

namespace fedwall::service {
namespace {

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
  std::string policy_version() const override { return policies_->Current()->version(); }
  void RequestReload(const std::string& reason) override { policies_->RequestReload(reason); }
  void Shutdown() override;

 private:
  absl::StatusOr<std::unique_ptr<grpc::Server>> Listen(const std::string& listen,
                                                       bool data_plane, bool admin,
                                                       std::string* bound);

  const ServiceConfig config_;
  Stats stats_;
  std::unique_ptr<store::ReviewStore> store_;
  std::unique_ptr<PolicyManager> policies_;
  std::unique_ptr<WorkerPool> pool_;
  std::unique_ptr<FlagWriter> flags_;
  std::unique_ptr<PolicyServiceImpl> policy_service_;
  std::unique_ptr<AdminOps> admin_ops_;
  std::unique_ptr<AdminServiceImpl> admin_service_;
  std::unique_ptr<http::AdminHttpServer> admin_http_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<grpc::Server> admin_server_;
  std::string address_;
  std::string admin_address_;
  absl::Mutex shutdown_mu_;
  bool shut_down_ = false;
};

absl::Status ServerImpl::Init() {
  if (absl::Status s = config_.Validate(); !s.ok()) return s;

  std::string token;
  if (!config_.admin_token_file.empty()) {
    absl::StatusOr<std::string> read = ReadTokenFile(config_.admin_token_file);
    if (!read.ok()) return read.status();
    token = *std::move(read);
  } else {
    LogWarning("no admin token file configured: every AdminService call is refused "
               "(set server.admin_token_file or --admin-token-file)");
  }

  if (absl::StartsWith(config_.store, "postgresql://") || absl::StartsWith(config_.store, "postgres://")) {
    return absl::UnimplementedError(
        "PostgreSQL review stores are not supported yet; use a SQLite file path for --store");
  }
  absl::StatusOr<std::unique_ptr<store::ReviewStore>> opened = store::OpenSqliteStore(config_.store);
  if (!opened.ok()) {
    return absl::Status(opened.status().code(),
                        absl::StrCat("review store ", config_.store, ": ", opened.status().message()));
  }
  store_ = *std::move(opened);
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
    for (const Diagnostic& d : first.diagnostics) errors += d.severity == Diagnostic::Severity::kError;
    return absl::FailedPreconditionError(absl::StrCat(
        "the policy in ", config_.policy_dir, " does not compile (", errors,
        " error(s), listed above); not starting"));
  }

  WorkerPool::Options pool_options;
  pool_options.threads = static_cast<size_t>(config_.workers);
  pool_options.evaluator.parse.max_bytes = config_.max_activity_bytes;
  pool_options.evaluator.parse.max_depth = config_.max_json_depth;
  pool_ = std::make_unique<WorkerPool>(pool_options);
  flags_ = std::make_unique<FlagWriter>(store_.get(), FlagWriter::Options{});

  DataPlaneLimits limits;
  limits.max_activity_bytes = config_.max_activity_bytes;
  limits.max_batch_items = config_.max_batch_items;
  limits.max_stream_in_flight = config_.max_stream_in_flight;
  policy_service_ = std::make_unique<PolicyServiceImpl>(policies_.get(), pool_.get(), flags_.get(),
                                                        &stats_, limits);
  admin_ops_ = std::make_unique<AdminOps>(policies_.get(), store_.get());
  admin_service_ = std::make_unique<AdminServiceImpl>(token, policies_.get(), store_.get(),
                                                      admin_ops_.get(), &stats_);

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
  policies_->Start();
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<grpc::Server>> ServerImpl::Listen(const std::string& listen,
                                                                 bool data_plane, bool admin,
                                                                 std::string* bound) {
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
  builder.SetMaxReceiveMessageSize(static_cast<int>(config_.max_message_bytes));
  // Bounds the calls one connection can have open at once.
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, 1000);
  if (data_plane) builder.RegisterService(policy_service_.get());
  if (admin) builder.RegisterService(admin_service_.get());
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", listen,
                                               " (address in use or not valid?)"));
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
  for (grpc::Server* s : {server_.get(), admin_server_.get()}) {
    if (s == nullptr) continue;
    if (grpc::HealthCheckServiceInterface* health = s->GetHealthCheckService()) {
      health->Shutdown();  // health checks answer NOT_SERVING from now on
    }
  }
  // Stops accepting calls, waits for the calls in flight until the deadline, then cancels them.
  std::thread admin_stop;
  if (admin_server_) {
    admin_stop = std::thread([this, deadline] { admin_server_->Shutdown(absl::ToChronoTime(deadline)); });
  }
  if (server_) server_->Shutdown(absl::ToChronoTime(deadline));
  if (admin_stop.joinable()) admin_stop.join();
  if (pool_) pool_->Stop();
  if (flags_) flags_->Stop();          // commits every flag already decided
  if (admin_service_) admin_service_->Stop();
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
