-- wrk script: POSTs a signed Mastodon Create to a per-user inbox, as a remote server delivers
-- it (the signature is not verified by anyone in the benchmark; its headers are carried).
-- FEDWALL_BODY names the activity file; FEDWALL_DELAY_MS paces each connection (0: flat out).
local body_file = os.getenv("FEDWALL_BODY") or "docs/examples/mastodon-create-note.json"
local f = assert(io.open(body_file, "rb"))
local body = f:read("*a")
f:close()
local delay_ms = tonumber(os.getenv("FEDWALL_DELAY_MS") or "0")

wrk.method = "POST"
wrk.path = "/users/alice/inbox"
wrk.body = body
wrk.headers["Content-Type"] = "application/activity+json"
wrk.headers["Date"] = os.date("!%a, %d %b %Y %H:%M:%S GMT")
wrk.headers["Digest"] = "SHA-256=aGVsbG8gd29ybGQgZGlnZXN0IG9mIHRoZSBib2R5"
wrk.headers["Signature"] = 'keyId="https://mastodon.example/users/alice#main-key",' ..
    'algorithm="rsa-sha256",headers="(request-target) host date digest content-type",' ..
    'signature="c2lnbmVk"'

function delay()
  return delay_ms
end

done = function(summary, latency, requests)
  io.write(string.format("requests %d, errors: connect %d read %d write %d status %d timeout %d\n",
      summary.requests, summary.errors.connect, summary.errors.read, summary.errors.write,
      summary.errors.status, summary.errors.timeout))
  for _, p in ipairs({50, 90, 99, 99.9}) do
    io.write(string.format("latency p%g %.0f us\n", p, latency:percentile(p)))
  end
  io.write(string.format("rate %.0f requests/s\n", summary.requests / (summary.duration / 1e6)))
end
