// fuzz_activity: ActivityStreams JSON -> ActivityParser::Parse -> Evaluator::Decide against the
// fixed policy of fuzz_policy.h, once without request facts, once with counters (the counter
// text and bands, and an in-process counter store) and once with facts that override the
// actor's name and bio. The input is the activity document itself (seeds: corpus/activity).
//
// Invariants checked beyond "no crash, no sanitizer report": a parse error is InvalidArgument
// or ResourceExhausted; a decision's verdict is one of the three, a REJECT carries no effects,
// every evidence span is ordered and at most max_evidence_bytes long, and the decision names
// the policy's version.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "engine/activity/activity.h"
#include "engine/counters/counters.h"
#include "engine/counters/memory_counter_store.h"
#include "engine/policy/policy.h"
#include "tests/fuzz/fuzz_policy.h"
#include "tests/fuzz/fuzz_target.h"

namespace {

using fedwall::Decision;

void CheckDecision(const Decision& d, const fedwall::Policy& policy) {
  FEDWALL_FUZZ_CHECK(d.verdict == fedwall::Verdict::kAccept ||
                     d.verdict == fedwall::Verdict::kFlag ||
                     d.verdict == fedwall::Verdict::kReject);
  FEDWALL_FUZZ_CHECK(d.verdict != fedwall::Verdict::kReject || d.effects == 0);
  FEDWALL_FUZZ_CHECK(d.policy_version == policy.version());
  for (const fedwall::RuleMatch& m : d.matches) {
    FEDWALL_FUZZ_CHECK(!m.rule_id.empty());
    for (const fedwall::Evidence& e : m.evidence) {
      FEDWALL_FUZZ_CHECK(e.start <= e.end);
      FEDWALL_FUZZ_CHECK(e.text.size() <= fedwall::EvaluatorOptions{}.max_evidence_bytes);
    }
  }
}

fedwall::RequestFacts FullFacts() {
  fedwall::RequestFacts facts;
  facts.delivery.sender_domain = "Relay.Example";
  facts.delivery.remote_ip = "192.0.2.7";
  facts.delivery.signature_verified = false;
  facts.delivery.received_at = fedwall::fuzzing::FuzzNow();
  facts.actor.created_at = fedwall::fuzzing::FuzzNow() - absl::Hours(3);
  facts.actor.followers_count = 0;
  facts.actor.following_count = 5000;
  facts.actor.statuses_count = 1;
  facts.actor.bot = true;
  facts.actor.followed_by_local_users = false;
  facts.actor.display_name = "Official Support";
  facts.actor.bio = "<p>crypto &amp; <b>staff</b></p>";
  return facts;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static fedwall::ActivityParser* parser = new fedwall::ActivityParser();
  static fedwall::Evaluator* evaluator = new fedwall::Evaluator();
  static const fedwall::RequestFacts* full_facts = new fedwall::RequestFacts(FullFacts());
  const fedwall::Policy& policy = fedwall::fuzzing::FuzzPolicy();

  std::string_view json(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<fedwall::Activity> activity = parser->Parse(json);
  if (!activity.ok()) {
    FEDWALL_FUZZ_CHECK(activity.status().code() == absl::StatusCode::kInvalidArgument ||
                       activity.status().code() == absl::StatusCode::kResourceExhausted);
    FEDWALL_FUZZ_CHECK(!activity.status().message().empty());
    return 0;
  }
  CheckDecision(evaluator->Decide(policy, *activity, {}, fedwall::fuzzing::FuzzNow()), policy);

  // Counters: the counter text, its MinHash bands and a bounded in-process store remembering
  // every input (so inputs meet earlier ones, as a wave would).
  static fedwall::counters::MemoryCounterStore* counter_store =
      new fedwall::counters::MemoryCounterStore({.max_memory_bytes = 4 << 20});
  std::vector<std::optional<double>> counter_values;
  fedwall::counters::Count(*counter_store, policy.counters(), *activity,
                           fedwall::fuzzing::FuzzNow(), /*record=*/true, &counter_values);
  FEDWALL_FUZZ_CHECK(counter_values.size() == policy.counters().size());
  for (const std::optional<double>& v : counter_values) {
    FEDWALL_FUZZ_CHECK(!v.has_value() || *v >= 0);
  }
  CheckDecision(evaluator->Decide(policy, *activity, {}, fedwall::fuzzing::FuzzNow(),
                                  counter_values),
                policy);

  fedwall::MergeActorFacts(full_facts->actor, &*activity);
  CheckDecision(evaluator->Decide(policy, *activity, *full_facts, fedwall::fuzzing::FuzzNow()),
                policy);
  return 0;
}
