#include "service/admin_service.h"

#include <google/protobuf/util/time_util.h>
#include <openssl/crypto.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "engine/blocklist/blocklist.h"
#include "engine/text/domain.h"
#include "service/log.h"

namespace fedwall::service {
namespace {

namespace v1 = fedwall::v1;
using google::protobuf::util::TimeUtil;

// Admin calls waiting for the admin thread; more are refused with UNAVAILABLE.
constexpr size_t kMaxQueuedCalls = 1000;

grpc::Status ToGrpc(const absl::Status& status) {
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

google::protobuf::Timestamp ToTimestamp(absl::Time t) {
  return TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(t));
}

google::protobuf::Duration ToDuration(absl::Duration d) {
  return TimeUtil::NanosecondsToDuration(absl::ToInt64Nanoseconds(d));
}

void ToProto(const Diagnostic& d, v1::Diagnostic* out) {
  out->set_path(d.path);
  out->set_line(d.line);
  out->set_column(d.column);
  out->set_severity(d.SeverityName());
  out->set_message(d.message);
}

void ToProto(const store::DomainBlock& b, v1::DomainBlock* out) {
  out->set_domain(b.domain);
  out->set_severity(static_cast<v1::Severity>(b.severity));
  out->set_reject_media(b.reject_media);
  out->set_reject_reports(b.reject_reports);
  out->set_public_comment(b.public_comment);
  out->set_private_comment(b.private_comment);
}

void ToProto(const store::Flag& f, v1::Flag* out) {
  out->set_id(f.id);
  out->set_status(static_cast<v1::FlagStatus>(f.status));
  out->set_activity_json(f.data.activity_json);
  v1::EvaluateResponse stored;
  if (stored.ParseFromString(f.data.matches)) *out->mutable_matches() = stored.matches();
  out->set_score(static_cast<double>(f.data.score_milli) / 1000.0);
  out->set_actor(f.data.actor);
  *out->mutable_created_at() = ToTimestamp(f.data.created_at);
  if (f.resolved_at) *out->mutable_resolved_at() = ToTimestamp(*f.resolved_at);
  out->set_moderator(f.moderator);
  out->set_note(f.note);
  if (f.held) {
    v1::HeldDelivery* held = out->mutable_held();
    *held->mutable_deliver_before() = ToTimestamp(f.held->deliver_before);
    held->set_state(store::HeldStateName(f.held->state));
    held->set_detail(f.held->detail);
  }
}

store::BlockSeverity StoreSeverity(v1::Severity s) {
  switch (s) {
    case v1::SEVERITY_NOOP: return store::BlockSeverity::kNoop;
    case v1::SEVERITY_SILENCE: return store::BlockSeverity::kSilence;
    default: return store::BlockSeverity::kSuspend;  // SUSPEND, and UNSPECIFIED
  }
}

store::BlockSeverity StoreSeverity(blocklist::Severity s) {
  switch (s) {
    case blocklist::Severity::kSuspend: return store::BlockSeverity::kSuspend;
    case blocklist::Severity::kSilence: return store::BlockSeverity::kSilence;
    default: return store::BlockSeverity::kNoop;  // noop, and none (flags only)
  }
}

}  // namespace

bool CheckBearerToken(std::string_view authorization, std::string_view token) {
  if (token.empty()) return false;
  constexpr std::string_view kScheme = "Bearer ";
  if (authorization.size() != kScheme.size() + token.size()) return false;
  // The scheme is public; the token part is compared in constant time.
  bool scheme_ok = true;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    scheme_ok &= (authorization[i] | 0x20) == (kScheme[i] | 0x20);
  }
  bool token_ok = CRYPTO_memcmp(authorization.data() + kScheme.size(), token.data(), token.size()) == 0;
  return scheme_ok && token_ok;
}

AdminServiceImpl::AdminServiceImpl(std::string token, PolicyManager* policies,
                                   store::ReviewStore* store, AdminOps* ops, Stats* stats)
    : token_(std::move(token)), policies_(policies), store_(store), ops_(ops), stats_(stats),
      thread_([this] { Run(); }) {}

AdminServiceImpl::~AdminServiceImpl() { Stop(); }

void AdminServiceImpl::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void AdminServiceImpl::Run() {
  auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || !queue_.empty(); };
  while (true) {
    std::function<void()> job;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(&ready));
      if (queue_.empty()) return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    job();
  }
}

bool AdminServiceImpl::Authenticate(grpc::CallbackServerContext* context,
                                    grpc::ServerUnaryReactor* reactor) const {
  std::string_view authorization;
  auto it = context->client_metadata().find("authorization");
  if (it != context->client_metadata().end()) {
    authorization = std::string_view(it->second.data(), it->second.size());
  }
  if (CheckBearerToken(authorization, token_)) return true;
  reactor->Finish(grpc::Status(
      grpc::StatusCode::UNAUTHENTICATED,
      token_.empty() ? "the admin API is off: no admin token is configured "
                       "(server.admin_token_file / --admin-token-file)"
                     : "missing or wrong admin token (metadata authorization: Bearer <token>)"));
  return false;
}

grpc::ServerUnaryReactor* AdminServiceImpl::Handle(grpc::CallbackServerContext* context,
                                                   std::function<grpc::Status()> work) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (!Authenticate(context, reactor)) return reactor;
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_ && queue_.size() < kMaxQueuedCalls) {
      queue_.push_back([reactor, work = std::move(work)] { reactor->Finish(work()); });
      return reactor;
    }
  }
  reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                               "the admin service is stopping or has too many calls waiting"));
  return reactor;
}

grpc::ServerUnaryReactor* AdminServiceImpl::GetPolicy(grpc::CallbackServerContext* context,
                                                      const v1::GetPolicyRequest* /*request*/,
                                                      v1::GetPolicyResponse* response) {
  return Handle(context, [this, response] {
    std::shared_ptr<const Policy> policy = policies_->Current();
    response->set_version(policy->version());
    *response->mutable_loaded_at() = ToTimestamp(policies_->loaded_at());
    response->set_rules(static_cast<uint32_t>(policy->rule_count()));
    response->set_patterns(static_cast<uint32_t>(policy->pattern_count()));
    response->set_domains(static_cast<uint32_t>(policy->domain_count()));
    for (const Diagnostic& d : policy->warnings()) ToProto(d, response->add_warnings());
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* AdminServiceImpl::ReloadPolicy(grpc::CallbackServerContext* context,
                                                         const v1::ReloadPolicyRequest* /*request*/,
                                                         v1::ReloadPolicyResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (!Authenticate(context, reactor)) return reactor;
  // Compiles on the policy manager's thread; a failed compile is a normal answer (ok = false
  // with the diagnostics), not an RPC error.
  policies_->RequestReload("ReloadPolicy", [reactor, response](const ReloadOutcome& outcome) {
    response->set_ok(outcome.ok);
    response->set_version(outcome.version);
    for (const Diagnostic& d : outcome.diagnostics) ToProto(d, response->add_diagnostics());
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* AdminServiceImpl::ListDomainBlocks(
    grpc::CallbackServerContext* context, const v1::ListDomainBlocksRequest* /*request*/,
    v1::ListDomainBlocksResponse* response) {
  return Handle(context, [this, response] {
    absl::StatusOr<std::vector<store::DomainBlock>> blocks = store_->ListDomainBlocks();
    if (!blocks.ok()) return ToGrpc(blocks.status());
    for (const store::DomainBlock& b : *blocks) ToProto(b, response->add_blocks());
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* AdminServiceImpl::CreateDomainBlock(
    grpc::CallbackServerContext* context, const v1::CreateDomainBlockRequest* request,
    v1::DomainBlock* response) {
  return Handle(context, [this, request, response] {
    absl::StatusOr<std::string> domain = RequestDomain(request->block().domain(), "block.domain");
    if (!domain.ok()) return ToGrpc(domain.status());
    store::DomainBlock block;
    block.domain = *domain;
    block.severity = StoreSeverity(request->block().severity());
    block.reject_media = request->block().reject_media();
    block.reject_reports = request->block().reject_reports();
    block.public_comment = request->block().public_comment();
    block.private_comment = request->block().private_comment();
    block.updated_at = absl::Now();
    absl::StatusOr<store::PutBlocksResult> put = ops_->PutDomainBlocks({&block, 1}, /*replace=*/true);
    if (!put.ok()) return ToGrpc(put.status());
    LogInfo(absl::StrCat("domain block set: ", block.domain));
    ToProto(put->stored.at(0), response);
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* AdminServiceImpl::DeleteDomainBlock(
    grpc::CallbackServerContext* context, const v1::DeleteDomainBlockRequest* request,
    v1::DeleteDomainBlockResponse* /*response*/) {
  return Handle(context, [this, request] {
    absl::StatusOr<std::string> domain = RequestDomain(request->domain(), "domain");
    if (!domain.ok()) return ToGrpc(domain.status());
    absl::StatusOr<bool> deleted = ops_->DeleteDomainBlock(*domain);
    if (!deleted.ok()) return ToGrpc(deleted.status());
    if (!*deleted) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND,
                          absl::StrCat("no API-made block for ", *domain,
                                       " (blocks from the policy's blocklist files are changed there)"));
    }
    LogInfo(absl::StrCat("domain block removed: ", *domain));
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* AdminServiceImpl::ImportDomainBlocks(
    grpc::CallbackServerContext* context, const v1::ImportDomainBlocksRequest* request,
    v1::ImportDomainBlocksResponse* response) {
  return Handle(context, [this, request, response] {
    blocklist::ParseOptions options;
    options.path = "import";
    if (!request->format().empty()) {
      std::optional<blocklist::Format> format = blocklist::ParseFormat(request->format());
      if (!format) {
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                            absl::StrCat("unknown blocklist format \"", request->format(),
                                         "\" (mastodon_csv, fediblockhole_csv, mastodon_api_json, "
                                         "gotosocial_json, rapidblock_json, plain; empty: detect)"));
      }
      options.format = *format;
    }
    options.default_severity = static_cast<blocklist::Severity>(StoreSeverity(request->default_severity()));
    absl::StatusOr<blocklist::ParseResult> parsed = blocklist::ParseBlocklist(request->data(), options);
    if (!parsed.ok()) return ToGrpc(absl::InvalidArgumentError(parsed.status().message()));
    for (const Diagnostic& d : parsed->diagnostics) ToProto(d, response->add_skipped());
    std::vector<store::DomainBlock> blocks;
    absl::Time now = absl::Now();
    for (const blocklist::Entry& e : parsed->entries) {
      if (e.domain.empty()) {
        ToProto(Diagnostic{options.path, e.line, 0, Diagnostic::Severity::kWarning,
                           absl::StrCat("\"", e.written, "\" is known only by its digest; an API block needs the domain")},
                response->add_skipped());
        continue;
      }
      store::DomainBlock b;
      b.domain = e.domain;
      b.severity = StoreSeverity(e.severity);
      b.reject_media = e.reject_media;
      b.reject_reports = e.reject_reports;
      b.public_comment = e.public_comment;
      b.private_comment = e.private_comment;
      b.updated_at = now;
      blocks.push_back(std::move(b));
    }
    absl::StatusOr<store::PutBlocksResult> put = ops_->PutDomainBlocks(blocks, request->replace());
    if (!put.ok()) return ToGrpc(put.status());
    response->set_added(put->added);
    response->set_changed(put->changed);
    response->set_unchanged(put->unchanged);
    LogInfo(absl::StrCat("domain blocks imported (", blocklist::FormatName(parsed->format), "): ",
                         put->added, " added, ", put->changed, " changed, ", put->unchanged,
                         " unchanged, ", response->skipped_size(), " skipped"));
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* AdminServiceImpl::ListFlags(grpc::CallbackServerContext* context,
                                                      const v1::ListFlagsRequest* request,
                                                      v1::ListFlagsResponse* response) {
  return Handle(context, [this, request, response] {
    store::FlagQuery query;
    if (request->status() != v1::FLAG_STATUS_UNSPECIFIED) {
      if (!v1::FlagStatus_IsValid(request->status())) {
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "unknown status");
      }
      query.status = static_cast<store::FlagStatus>(request->status());
    }
    query.rule_id = request->rule_id();
    if (!request->domain().empty()) {
      absl::StatusOr<std::string> domain = RequestDomain(request->domain(), "domain");
      if (!domain.ok()) return ToGrpc(domain.status());
      query.domain = *domain;
    }
    if (request->page_size() < 0) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "page_size must not be negative");
    }
    query.page_size = request->page_size();
    query.page_token = request->page_token();
    query.include_activity = false;
    absl::StatusOr<store::FlagPage> page = ops_->ListFlags(query);
    if (!page.ok()) return ToGrpc(page.status());
    for (const store::Flag& f : page->flags) ToProto(f, response->add_flags());
    response->set_next_page_token(page->next_page_token);
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* AdminServiceImpl::GetFlag(grpc::CallbackServerContext* context,
                                                    const v1::GetFlagRequest* request,
                                                    v1::Flag* response) {
  return Handle(context, [this, request, response] {
    absl::StatusOr<store::Flag> flag = ops_->GetFlag(request->id());
    if (!flag.ok()) return ToGrpc(flag.status());
    ToProto(*flag, response);
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* AdminServiceImpl::ResolveFlag(grpc::CallbackServerContext* context,
                                                        const v1::ResolveFlagRequest* request,
                                                        v1::Flag* response) {
  return Handle(context, [this, request, response] {
    if (request->resolution() != v1::FLAG_STATUS_APPROVED &&
        request->resolution() != v1::FLAG_STATUS_REMOVED) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "resolution must be FLAG_STATUS_APPROVED or FLAG_STATUS_REMOVED");
    }
    ResolveRequest resolve;
    resolve.id = request->id();
    resolve.resolution = static_cast<store::FlagStatus>(request->resolution());
    resolve.note = request->note();
    resolve.moderator = request->moderator();
    resolve.block_domain = request->block_domain();
    absl::StatusOr<store::Flag> resolved = ops_->ResolveFlag(resolve);
    if (!resolved.ok()) return ToGrpc(resolved.status());
    ToProto(*resolved, response);
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* AdminServiceImpl::GetStats(grpc::CallbackServerContext* context,
                                                     const v1::GetStatsRequest* /*request*/,
                                                     v1::GetStatsResponse* response) {
  return Handle(context, [this, response] {
    StatsSnapshot s = stats_->Snapshot();
    for (const auto& [name, n] : s.verdicts) (*response->mutable_verdicts())[name] = n;
    for (const auto& [id, n] : s.rules) (*response->mutable_rules())[id] = n;
    *response->mutable_latency_p50() = ToDuration(s.latency_p50);
    *response->mutable_latency_p90() = ToDuration(s.latency_p90);
    *response->mutable_latency_p99() = ToDuration(s.latency_p99);
    response->set_reloads(s.reloads);
    response->set_reload_failures(s.reload_failures);
    *response->mutable_started_at() = ToTimestamp(s.started_at);
    for (const auto& [name, n] : s.gateway) (*response->mutable_gateway())[name] = n;
    for (const auto& [name, n] : s.counters) (*response->mutable_counters())[name] = n;
    response->set_state(s.state);
    return grpc::Status::OK;
  });
}

}  // namespace fedwall::service
