// fedwalld: the policy service a fediverse server asks about every incoming activity.
// See docs/cli.md ("Operating the service") and docs/configuration.md. Argument parsing,
// signals and the start-up message only; the server lives in server.cc.
//
// Signals: SIGHUP reloads the policy; SIGTERM and SIGINT drain the calls in flight (up to
// server.drain_timeout) and exit 0. They are blocked in every thread and taken by sigwait in
// the main thread, so no work happens in a signal handler.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "service/config/config.h"
#include "service/log.h"
#include "service/server.h"

int main(int argc, char** argv) {
  // Debian builds abseil with Mutex deadlock detection on: it more than doubles the cost of
  // every lock (60 ns instead of 25 on the reference machine). The tests keep it on; the
  // service does not pay for it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  CLI::App app{"fedwalld: the fedwall policy service (gRPC)", "fedwalld"};
  app.set_version_flag("--version", std::string("fedwalld ") + FEDWALL_VERSION);
  app.footer(
      "Flags override the configuration file. Docs: docs/configuration.md, docs/api.md.\n"
      "SIGHUP reloads the policy; SIGTERM drains and stops.");

  std::string config_path;
  app.add_option("--config", config_path, "Configuration file (TOML), e.g. fedwall.toml")
      ->check(CLI::ExistingFile);
  std::string listen, policy, store, token_file, admin_listen, admin_http_listen;
  std::string tls_cert, tls_key, admin_client_ca;
  std::string gateway_listen, gateway_upstream, gateway_flag;
  int workers = -1;
  bool no_watch = false;
  std::string max_activity_bytes, max_message_bytes;
  size_t max_batch_items = 0;
  app.add_option("--listen", listen,
                 "gRPC address, host:port (default 127.0.0.1:50051; port 0: any)");
  app.add_option("--policy", policy, "Policy directory (default rules)");
  app.add_option("--store", store,
                 "Review store: a SQLite file (default fedwall.db) or a PostgreSQL URL, "
                 "postgresql://user@host/db (shared by several nodes)");
  std::string state;
  app.add_option("--state", state,
                 "Counter state for actor.rate, text.seen, ...: memory (default) or a Redis URL, "
                 "redis://host:6379/0 (shared by several nodes)");
  app.add_option("--admin-token-file", token_file,
                 "File holding the AdminService bearer token (without it the AdminService refuses "
                 "every call)");
  app.add_option("--admin-listen", admin_listen,
                 "Serve the AdminService only on this address (default: on --listen)");
  app.add_option("--admin-http-listen", admin_http_listen,
                 "Admin HTTP port: review page and /metrics, host:port (default: off)");
  app.add_option("--gateway-listen", gateway_listen,
                 "Inbox gateway: HTTP on host:port in front of the server's inboxes (default: off; "
                 "docs/integrations/gateway.md)");
  app.add_option("--gateway-upstream", gateway_upstream,
                 "The server behind the gateway, http://host:port");
  app.add_option("--gateway-flag", gateway_flag,
                 "A FLAGged delivery: forward (deliver, review later; default) or hold (deliver "
                 "when a moderator approves)")
      ->check(CLI::IsMember({"forward", "hold"}));
  app.add_option("--tls-cert", tls_cert,
                 "PEM certificate chain: serve gRPC over TLS (with --tls-key; default: plaintext)");
  app.add_option("--tls-key", tls_key, "PEM private key of --tls-cert (unencrypted)");
  app.add_option("--admin-client-ca", admin_client_ca,
                 "PEM CA: the AdminService port requires client certificates it signed (mTLS)");
  app.add_option("--workers", workers, "Evaluation threads (default: one per core)")
      ->check(CLI::Range(0, 256));
  app.add_flag("--no-watch", no_watch, "Do not reload when files in the policy directory change");
  app.add_option("--max-activity-bytes", max_activity_bytes,
                 "Largest activity accepted: bytes, or 512KiB, 1MiB... (default 1MiB)");
  app.add_option("--max-message-bytes", max_message_bytes,
                 "Largest gRPC message accepted: bytes, or 16MiB... (default 16MiB)");
  app.add_option("--max-batch-items", max_batch_items,
                 "Most activities in one EvaluateBatch (default 1024)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  fedwall::service::ServiceConfig config;
  if (!config_path.empty()) {
    absl::StatusOr<fedwall::service::ServiceConfig> loaded =
        fedwall::service::LoadConfigFile(config_path);
    if (!loaded.ok()) {
      std::cerr << "fedwalld: " << loaded.status().message() << "\n";
      return 2;
    }
    config = *std::move(loaded);
  }
  if (!listen.empty()) config.listen = listen;
  if (!policy.empty()) config.policy_dir = policy;
  if (!store.empty()) config.store = store;
  if (!state.empty()) config.state = state;
  if (!token_file.empty()) config.admin_token_file = token_file;
  if (!admin_listen.empty()) config.admin_listen = admin_listen;
  if (!admin_http_listen.empty()) config.admin_http_listen = admin_http_listen;
  if (!gateway_listen.empty()) config.gateway_listen = gateway_listen;
  if (!gateway_upstream.empty()) config.gateway_upstream = gateway_upstream;
  if (!gateway_flag.empty()) config.gateway_flag = gateway_flag;
  if (!tls_cert.empty()) config.tls_cert_file = tls_cert;
  if (!tls_key.empty()) config.tls_key_file = tls_key;
  if (!admin_client_ca.empty()) config.admin_client_ca_file = admin_client_ca;
  if (workers >= 0) config.workers = workers;
  if (no_watch) config.watch = false;
  for (auto [flag, text, target] :
       {std::tuple{"--max-activity-bytes", &max_activity_bytes, &config.max_activity_bytes},
        std::tuple{"--max-message-bytes", &max_message_bytes, &config.max_message_bytes}}) {
    if (text->empty()) continue;
    absl::StatusOr<size_t> bytes = fedwall::service::ParseByteSize(*text);
    if (!bytes.ok()) {
      std::cerr << "fedwalld: " << flag << ": " << bytes.status().message() << "\n";
      return 2;
    }
    *target = *bytes;
  }
  if (max_batch_items > 0) config.max_batch_items = max_batch_items;
  if (absl::Status s = config.Validate(); !s.ok()) {
    std::cerr << "fedwalld: " << s.message() << "\n";
    return 2;
  }

  // Debian's abseil is built with the Mutex deadlock detector on (a graph of every lock
  // order, updated on each acquisition: several percent of a decision's CPU); fedwalld's locks
  // are leaf locks, checked by the tests.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

  // Block the signals before any thread starts, so every thread inherits the mask and only
  // sigwait below receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGHUP);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  absl::StatusOr<std::unique_ptr<fedwall::service::Server>> server =
      fedwall::service::Server::Start(config);
  if (!server.ok()) {
    std::cerr << "fedwalld: " << server.status().message() << "\n";
    return 1;
  }
  // The first line on standard output says where the service listens (scripts and tests wait
  // for it).
  std::cout << "listening on " << (*server)->address() << std::endl;
  if ((*server)->admin_address() != (*server)->address()) {
    std::cout << "admin listening on " << (*server)->admin_address() << std::endl;
  }
  if (!(*server)->admin_http_address().empty()) {
    std::cout << "admin http listening on " << (*server)->admin_http_address() << std::endl;
  }
  if (!(*server)->gateway_address().empty()) {
    std::cout << "gateway listening on " << (*server)->gateway_address() << std::endl;
  }
  fedwall::service::LogInfo(absl::StrCat(
      "fedwalld ", FEDWALL_VERSION, " serving policy ", (*server)->policy_version().substr(0, 12),
      " from ", config.policy_dir, " on ", (*server)->address(),
      config.tls_cert_file.empty() ? " (plaintext gRPC)"
      : config.admin_client_ca_file.empty()
          ? " (TLS)"
          : " (TLS; the AdminService port requires client certificates)",
      "; review store ", fedwall::service::RedactedUrl(config.store), "; counters in ",
      fedwall::service::RedactedUrl(config.state)));

  while (true) {
    int received = 0;
    if (sigwait(&signals, &received) != 0) continue;
    if (received == SIGHUP) {
      fedwall::service::LogInfo("SIGHUP: reloading the policy");
      (*server)->RequestReload("SIGHUP");
      continue;
    }
    fedwall::service::LogInfo(absl::StrCat(
        received == SIGTERM ? "SIGTERM" : "SIGINT", ": draining calls in flight (up to ",
        absl::FormatDuration(config.drain_timeout), "; a second signal stops at once)"));
    // Drain on another thread, so a second SIGTERM/SIGINT can still end the process.
    std::atomic<bool> stopped{false};
    std::thread drain([&] {
      (*server)->Shutdown();
      stopped = true;
      kill(getpid(), SIGTERM);  // wake the sigwait below
    });
    while (true) {
      int again = 0;
      if (sigwait(&signals, &again) != 0) continue;
      if (stopped) break;
      if (again == SIGHUP) continue;
      fedwall::service::LogWarning("second signal: stopping without draining");
      std::_Exit(1);
    }
    drain.join();
    fedwall::service::LogInfo("stopped");
    return 0;
  }
}
