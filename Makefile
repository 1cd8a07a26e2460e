# fedwall's two commands (see README.md):
#   make run    install what is missing, build, and start fedwalld with the default policy
#   make test   install what is missing, build, and pass every test
# Other targets: deps, build, inspect, bench, bench-gateway, fuzz, proto-lint, format, clean. PRESET=dev|release|asan (default dev).

PRESET ?= dev
BUILD_DIR := build/$(PRESET)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
ARCH := $(shell dpkg --print-architecture 2>/dev/null)
# Hyperscan is x86-only; elsewhere Debian's vectorscan has the same API.
HYPERSCAN := $(if $(filter amd64 i386,$(ARCH)),libhyperscan-dev,libvectorscan-dev)

# The Debian bookworm packages of DESIGN.md, and the tools to build with.
DEB_PACKAGES := make cmake ninja-build g++ pkg-config \
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler \
  $(HYPERSCAN) libre2-dev libabsl-dev libsimdjson-dev libicu-dev libsqlite3-dev \
  libgtest-dev libgmock-dev libbenchmark-dev libcli11-dev libtomlplusplus-dev libssl-dev \
  libcpp-httplib-dev libboost-dev chromium \
  ruby ruby-grpc ruby-grpc-tools nginx-light wrk \
  redis-server libhiredis-dev postgresql libpq-dev

EXAMPLE := docs/examples/mastodon-create-note.json
EXAMPLE_FACTS := docs/examples/new-account-facts.json

.PHONY: all deps configure build run inspect test bench bench-gateway fuzz proto-lint format clean

all: build

deps:
	@missing=""; \
	for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@# The review page's browser test drives Debian's chromium with playwright-core from npm
	@# (pinned in tests/browser/package-lock.json; never a downloaded browser).
	@if [ -f tests/browser/package-lock.json ] && [ ! -d tests/browser/node_modules/playwright-core ]; then \
	  if command -v npm >/dev/null 2>&1; then \
	    echo "Installing tests/browser's npm packages (npm ci)"; \
	    npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error; \
	  else echo "npm not found: the browser test will be skipped"; fi; \
	fi
	@# The Node.js client's dependencies (pinned in clients/node/package-lock.json).
	@if [ -f clients/node/package-lock.json ] && [ ! -d clients/node/node_modules/@grpc/grpc-js ]; then \
	  if command -v npm >/dev/null 2>&1; then \
	    echo "Installing clients/node's npm packages (npm ci)"; \
	    npm ci --prefix clients/node --no-audit --no-fund --loglevel=error; \
	  else echo "npm not found: the Node client test will be skipped"; fi; \
	fi

configure: deps
	@[ -f $(BUILD_DIR)/build.ninja ] || cmake --preset $(PRESET)

build: configure
	cmake --build --preset $(PRESET)

# Serves the default policy from rules/ on localhost with a SQLite review store and an admin
# token made on first use, both kept under $(BUILD_DIR)/run/. Ctrl-C (SIGINT) stops it cleanly.
RUN_DIR := $(BUILD_DIR)/run
LISTEN ?= 127.0.0.1:50051

run: build
	@mkdir -p $(RUN_DIR)
	@[ -s $(RUN_DIR)/admin-token ] || (umask 077; head -c 32 /dev/urandom | base64 | tr -d '/+=\n' > $(RUN_DIR)/admin-token)
	@echo "== fedwalld: policy rules/, review store $(RUN_DIR)/fedwall.db, admin token in $(RUN_DIR)/admin-token"
	@echo "   Try it from another terminal:"
	@echo "     $(BUILD_DIR)/tools/fedwall bench --server $(LISTEN) --mode unary --duration 5s"
	@echo "     $(BUILD_DIR)/tools/fedwall bench --server $(LISTEN) --mode batch --store-flags --duration 2s   # fills the review queue"
	@echo "   and the same decision explained without the server:"
	@echo "     $(BUILD_DIR)/tools/fedwall eval rules $(EXAMPLE) --facts $(EXAMPLE_FACTS)"
	@echo "   Edit a file in rules/ and it reloads; Ctrl-C stops it. (LISTEN=host:port to move it.)"
	@exec $(BUILD_DIR)/service/fedwalld --listen $(LISTEN) --policy rules --store $(RUN_DIR)/fedwall.db \
	  --admin-token-file $(RUN_DIR)/admin-token

# What the engine sees in an example activity (no server).
inspect: build
	@echo "== fedwall inspect $(EXAMPLE) --facts $(EXAMPLE_FACTS)"
	@$(BUILD_DIR)/tools/fedwall inspect $(EXAMPLE) --facts $(EXAMPLE_FACTS) --pretty

test: build
	ctest --preset $(PRESET) -j 2

bench: PRESET = release
bench: build
	@for b in $$(find $(BUILD_DIR) -name '*_bench' -type f -perm -u+x | sort); do \
	  echo "== $$b"; $$b --benchmark_min_time=0.2 || exit 1; done

# The inbox gateway behind nginx, driven by wrk (docs/integrations/gateway.md, "Performance").
bench-gateway: PRESET = release
bench-gateway: build
	service/gateway/bench/run.sh $(BUILD_DIR) 10

# libFuzzer targets under ASan+UBSan (docs/fuzzing.md); clang only for this, so not in deps.
FUZZ_PACKAGES := clang libclang-rt-14-dev
FUZZ_SECONDS ?= 60
fuzz:
	@missing=""; for p in $(FUZZ_PACKAGES); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; fi
	cmake --preset fuzz && cmake --build --preset fuzz
	@for t in activity rules blocklist grpc_request; do \
	  echo "== fuzz_$$t for $(FUZZ_SECONDS) s"; mkdir -p build/fuzz/work/$$t; \
	  (cd build/fuzz/work/$$t && ../../tests/fuzz/fuzz_$$t . ../../../../tests/fuzz/corpus/$$t \
	    -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -timeout=5 -print_final_stats=1) || exit 1; \
	done

# buf STANDARD lint of the contract (proto/buf.yaml); buf comes from npm, pinned.
BUF_VERSION := 1.75.0
proto-lint:
	@cd proto && npx --yes @bufbuild/buf@$(BUF_VERSION) lint && echo "buf lint: ok"

format:
	@git ls-files '*.cc' '*.h' '*.proto' | xargs clang-format -i

clean:
	rm -rf build
