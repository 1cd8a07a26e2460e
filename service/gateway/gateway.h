// InboxGateway: fedwall in front of a server that has no moderation hook. An HTTP server for
// the inbox paths (spec: ../shared/spec/api.md, "Inbox gateway"; docs/integrations/gateway.md)
// that hands each POSTed activity to a Decider (in fedwalld: the same worker pool, policy and
// flag writer as the gRPC PolicyService) and then:
//   ACCEPT  forwards the request to the upstream unchanged (method, raw target, every
//           end-to-end header in order, the body bytes; hop-by-hop headers may change and
//           X-Forwarded-For is appended), so the server's own HTTP-signature check passes;
//           relays the upstream's answer;
//   REJECT  answers `reject_status` (202: the sender does not retry) and forwards nothing;
//   FLAG    `forward`: forwards (the flag is queued for review); `hold`: the Decider stores
//           the request with the flag, the sender gets 202, and Deliver() sends it when a
//           moderator approves (before `hold_window` after its signed Date has passed).
// Effects cannot be applied without breaking the signature; `flag_effects` lists the effects
// that make an ACCEPT a FLAG (the others are dropped: the activity is forwarded as it is).
// When no decision can be had (no policy), `fail_open` forwards, else 503. A FLAG that could
// not be stored for review is always 503 (the sender retries later): it is never acknowledged.
//
// Bounded: body size (413), header size (431), a deadline for reading each request (slow
// senders are cut off), an upstream timeout (504) and response size, a limit of requests in
// progress (503 with Retry-After), a limit of open connections. Malformed HTTP: 400 and close.
// A dead upstream: 502. Nothing that was not evaluated is forwarded, except under fail_open.
//
// Built on Boost.Beast (Debian's libboost-dev): its parser keeps the raw target and every
// header field in order with the name's original spelling, which signature-preserving
// forwarding needs (README.md, "Libraries").
//
// Thread-safe. Stop() before destroying; the Decider must outlive the gateway and must call
// `done` exactly once for every Decide().
#ifndef FEDWALL_SERVICE_GATEWAY_GATEWAY_H_
#define FEDWALL_SERVICE_GATEWAY_GATEWAY_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "fedwall/v1/policy_service.pb.h"

namespace fedwall::gateway {

enum class FlagMode { kForward, kHold };

struct GatewayOptions {
  std::string listen = "127.0.0.1:8088";  // host:port; port 0 picks a free one
  std::string upstream;                   // http://host:port of the server
  FlagMode flag = FlagMode::kForward;
  std::vector<std::string> inbox_paths = {"/inbox", "/users/*/inbox"};
  int reject_status = 202;  // 202 or 403
  std::vector<std::string> trusted_proxies = {"127.0.0.1", "::1"};
  bool fail_open = true;
  std::vector<fedwall::v1::Effect> flag_effects;  // effects that make an ACCEPT a FLAG
  absl::Duration hold_window = absl::Hours(12);   // a held request's signature stays usable
  size_t max_body_bytes = 1 << 20;
  size_t max_header_bytes = 64 << 10;
  size_t max_response_bytes = 8 << 20;  // of the upstream's answers
  absl::Duration read_timeout = absl::Seconds(30);  // to read one whole request
  absl::Duration upstream_timeout = absl::Seconds(30);
  size_t max_in_flight = 512;  // requests being decided or forwarded
  size_t max_connections = 4096;
  size_t threads = 2;
};

// A request the gateway has decided to hold, as it will be forwarded.
struct HeldRequest {
  std::string raw;                   // the HTTP/1.1 request, ready to send upstream
  absl::Time deliver_before;         // its signed Date (else arrival) + hold_window
};

// What a Decider answers.
struct Evaluation {
  enum class Outcome {
    kDecided,      // `response` holds the decision (flag_id set when a flag was stored)
    kBadActivity,  // the body is not an activity fedwall can read: 400
    kUnavailable,  // no decision could be had (no policy): fail open or closed
    kNotStored,    // a FLAG that could not be stored for review: 503, whatever the fail mode
  };
  Outcome outcome = Outcome::kUnavailable;
  fedwall::v1::EvaluateResponse response;
  std::string error;
};

class Decider {
 public:
  virtual ~Decider() = default;
  // Decides `request`. An ACCEPT carrying one of `flag_effects` counts as a FLAG. A FLAG is
  // stored for review, with `held` when given (the request to deliver on approval). Calls
  // `done` once, from any thread.
  virtual void Decide(fedwall::v1::EvaluateRequest request,
                      const std::vector<fedwall::v1::Effect>& flag_effects,
                      std::unique_ptr<HeldRequest> held,
                      std::function<void(Evaluation)> done) = 0;
};

// Counters, for /metrics and the log.
struct GatewayCounters {
  std::atomic<uint64_t> requests{0};       // inbox POSTs read whole
  std::atomic<uint64_t> forwarded{0};      // sent upstream (accepted, flagged-forwarded, failed open)
  std::atomic<uint64_t> rejected{0};
  std::atomic<uint64_t> flagged{0};        // FLAG decisions (forwarded or held)
  std::atomic<uint64_t> held{0};
  std::atomic<uint64_t> failed_open{0};    // forwarded without a decision
  std::atomic<uint64_t> failed_closed{0};  // refused without a decision (503)
  std::atomic<uint64_t> bad_requests{0};   // malformed HTTP or activity, wrong path or method
  std::atomic<uint64_t> too_large{0};
  std::atomic<uint64_t> overloaded{0};     // 503: too many requests in progress
  std::atomic<uint64_t> timeouts{0};       // requests not read in time
  std::atomic<uint64_t> upstream_errors{0};  // 502 / 504
  std::atomic<uint64_t> delivered_held{0};
};

class InboxGateway {
 public:
  static absl::StatusOr<std::unique_ptr<InboxGateway>> Start(GatewayOptions options,
                                                             Decider* decider);
  virtual ~InboxGateway() = default;

  // "host:port" actually bound.
  virtual std::string address() const = 0;
  virtual const GatewayCounters& counters() const = 0;

  // Sends a held request to the upstream; `done` gets OK for a 2xx answer, else why not.
  virtual void Deliver(std::string raw, std::function<void(absl::Status)> done) = 0;

  // Stops accepting, waits up to `drain` for the requests in progress, then closes all.
  virtual void Stop(absl::Duration drain) = 0;
};

}  // namespace fedwall::gateway

#endif  // FEDWALL_SERVICE_GATEWAY_GATEWAY_H_
