#!/bin/sh
# The inbox gateway's benchmark (docs/integrations/gateway.md, "Performance"): wrk -> nginx ->
# fedwalld's gateway -> an upstream stub (an nginx server that answers 202), all on this machine,
# against the default policy (rules/). Prints:
#   1. throughput: wrk flat out through nginx and the gateway (issue 7: >= 5k requests/s);
#   2. latency at about 1k requests/s (10 connections, each pacing 10 ms), through the gateway and
#      through nginx straight to the stub; the difference of the p99s is what the gateway adds
#      (issue 7: <= 1 ms).
# Usage: service/gateway/bench/run.sh BUILD_DIR [SECONDS]   (make bench-gateway runs it)
set -eu
build=${1:?usage: run.sh BUILD_DIR [SECONDS]}
seconds=${2:-10}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
for tool in wrk /usr/sbin/nginx; do
  command -v "$tool" >/dev/null 2>&1 || { echo "run.sh: $tool is missing (make deps installs it)" >&2; exit 1; }
done
work=$(mktemp -d /tmp/fedwall-gateway-bench.XXXXXX)
pids=""
cleanup() { for p in $pids; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
front=$(free_port); direct=$(free_port); stub=$(free_port)

"$build/service/fedwalld" --listen 127.0.0.1:0 --policy "$root/rules" --store "$work/fedwall.db" \
  --gateway-listen 127.0.0.1:0 --gateway-upstream "http://127.0.0.1:$stub" --no-watch \
  > "$work/fedwalld.out" 2> "$work/fedwalld.err" &
pids="$pids $!"
for _ in $(seq 100); do grep -q "gateway listening on" "$work/fedwalld.out" 2>/dev/null && break; sleep 0.1; done
gateway=$(sed -n 's/^gateway listening on //p' "$work/fedwalld.out")
[ -n "$gateway" ] || { cat "$work/fedwalld.err" >&2; exit 1; }

mkdir -p "$work/nginx/logs"
user=""; [ "$(id -u)" = 0 ] && user="user root;"
cat > "$work/nginx/nginx.conf" <<CONF
$user
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  upstream backend { server 127.0.0.1:$stub; keepalive 32; }
  upstream fedwall_gateway { server $gateway; keepalive 32; }
  map \$request_method \$inbox_upstream { POST fedwall_gateway; default backend; }
  # The server: answers every delivery with 202.
  server { listen 127.0.0.1:$stub; location / { return 202; } }
  # The site, routed as docs/integrations/gateway.md says.
  server {
    listen 127.0.0.1:$front;
    location ~ ^/(inbox|users/[^/]+/inbox)\$ {
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_set_header Connection "";
      proxy_http_version 1.1;
      proxy_pass http://\$inbox_upstream;
    }
  }
  # The same site without the gateway (the baseline).
  server {
    listen 127.0.0.1:$direct;
    location / {
      proxy_set_header Host \$host;
      proxy_set_header Connection "";
      proxy_http_version 1.1;
      proxy_pass http://backend;
    }
  }
}
CONF
/usr/sbin/nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -g "daemon off;" &
pids="$pids $!"
sleep 0.5

export FEDWALL_BODY="$root/docs/examples/mastodon-create-note.json"
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== 1. throughput through nginx and the gateway (2 threads, 64 connections, ${seconds}s)"
FEDWALL_DELAY_MS=0 wrk -t2 -c64 -d"${seconds}s" -s "$here/post.lua" "http://127.0.0.1:$front" | grep -E "^(requests|latency|rate)"
echo "== 2a. about 1k requests/s through nginx and the gateway (10 connections pacing 10 ms)"
FEDWALL_DELAY_MS=10 wrk -t1 -c10 -d"${seconds}s" -s "$here/post.lua" "http://127.0.0.1:$front" | grep -E "^(requests|latency|rate)"
echo "== 2b. the same, nginx straight to the server (baseline)"
FEDWALL_DELAY_MS=10 wrk -t1 -c10 -d"${seconds}s" -s "$here/post.lua" "http://127.0.0.1:$direct" | grep -E "^(requests|latency|rate)"
