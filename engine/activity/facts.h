// Request facts: what the receiving server knows about a delivery and its actor.
//
// These mirror fedwall.v1.DeliveryFacts and fedwall.v1.ActorFacts (proto/fedwall/v1/), but
// the engine keeps its own plain structs so that it never depends on gRPC or protobuf. Every
// fact is optional: an absent fact is *unknown* to the rules (three-valued logic), never zero.
//
// Example:
//   fedwall::RequestFacts facts;
//   facts.actor.followers_count = 0;
//   facts.actor.created_at = absl::Now() - absl::Hours(1);
//   facts.delivery.received_at = absl::Now();
#ifndef FEDWALL_ENGINE_ACTIVITY_FACTS_H_
#define FEDWALL_ENGINE_ACTIVITY_FACTS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/time/time.h"

namespace fedwall {

struct DeliveryFacts {
  std::optional<std::string> sender_domain;  // origin.domain (normalised when evaluated)
  std::optional<std::string> remote_ip;      // origin.ip
  std::optional<bool> signature_verified;    // origin.signed
  std::optional<absl::Time> received_at;     // "now" for durations, when set
};

struct ActorFacts {
  std::optional<absl::Time> created_at;         // actor.age = now - created_at
  std::optional<uint64_t> followers_count;      // actor.followers
  std::optional<uint64_t> following_count;      // actor.following
  std::optional<uint64_t> statuses_count;       // actor.posts
  std::optional<bool> bot;                      // actor.bot
  std::optional<bool> followed_by_local_users;  // actor.followed
  std::optional<std::string> display_name;      // actor.name (wins over the embedded name)
  std::optional<std::string> bio;               // actor.bio (HTML; wins over the embedded one)
};

struct RequestFacts {
  DeliveryFacts delivery;
  ActorFacts actor;
};

}  // namespace fedwall

#endif  // FEDWALL_ENGINE_ACTIVITY_FACTS_H_
