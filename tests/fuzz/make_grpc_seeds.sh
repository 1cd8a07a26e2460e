#!/usr/bin/env bash
# Regenerates the binary seeds of fuzz_grpc_request (corpus/grpc_request/) from protobuf text
# format with `protoc --encode`. Each file is one mode byte (0 EvaluateRequest, 1
# EvaluateBatchRequest, 2 facts JSON) followed by the message. Run from anywhere.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
OUT="$ROOT/tests/fuzz/corpus/grpc_request"
ACT="$ROOT/tests/fuzz/corpus/activity"
mkdir -p "$OUT"
enc() {  # MODE_BYTE MESSAGE FILE < text format
  { printf "$1"; protoc -I"$ROOT/proto" -I/usr/include --encode="fedwall.v1.$2" \
      "$ROOT/proto/fedwall/v1/policy_service.proto"; } > "$OUT/$3"
}
quote() { python3 -c 'import json,sys; print(json.dumps(open(sys.argv[1]).read()))' "$1"; }
A1=$(quote "$ACT/create-note-public.json")
A2=$(quote "$ACT/create-note-mentions.json")
A3=$(quote "$ACT/update-person.json")

enc '\x00' EvaluateRequest unary-full-facts.bin <<EOF
request_id: "req-1"
activity_json: $A2
delivery { sender_domain: "Relay.Example" remote_ip: "192.0.2.1" signature_verified: false received_at { seconds: 1708000000 nanos: 5 } }
actor { created_at { seconds: 1707990000 } followers_count: 0 following_count: 4000 statuses_count: 1 bot: true followed_by_local_users: false display_name: "Official Support" bio: "<p>crypto staff</p>" }
EOF
enc '\x00' EvaluateRequest unary-no-facts.bin <<EOF
request_id: "req-2"
activity_json: $A1
dry_run: true
EOF
enc '\x00' EvaluateRequest unary-extreme-times.bin <<EOF
request_id: ""
activity_json: $A3
delivery { received_at { seconds: -62135596800 nanos: 999999999 } }
actor { created_at { seconds: 253402300799 } followers_count: 18446744073709551615 }
EOF
enc '\x00' EvaluateRequest unary-bad-json.bin <<EOF
request_id: "bad"
activity_json: "{\"type\": \"Create\", \"actor\": 1, "
EOF
enc '\x01' EvaluateBatchRequest batch.bin <<EOF
requests { request_id: "b1" activity_json: $A1 actor { followed_by_local_users: true } }
requests { request_id: "b2" activity_json: $A2 delivery { sender_domain: "spam.example" } }
requests { request_id: "b3" activity_json: $A3 }
requests { request_id: "b4" activity_json: "not json" }
requests { }
EOF
printf '\x02{"delivery": {"senderDomain": "spam.example", "receivedAt": "2024-02-15T00:00:00Z"}, "actor": {"followersCount": 0, "createdAt": "2024-02-14T23:00:00Z", "displayName": "x"}}' > "$OUT/facts.json"
printf '\x02{"actor": {"folowersCount": 0}}' > "$OUT/facts-typo.json"
