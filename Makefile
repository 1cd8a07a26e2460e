# fedwall's two commands (see README.md):
#   make run    install what is missing, build, and run the main job
#   make test   install what is missing, build, and pass every test
# Other targets: deps, build, bench, format, clean. PRESET=dev|release|asan (default dev).

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
  libgtest-dev libgmock-dev libbenchmark-dev libcli11-dev libtomlplusplus-dev libssl-dev

EXAMPLE := docs/examples/mastodon-create-note.json
EXAMPLE_FACTS := docs/examples/new-account-facts.json

.PHONY: all deps configure build run test bench format clean

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

configure: deps
	@[ -f $(BUILD_DIR)/build.ninja ] || cmake --preset $(PRESET)

build: configure
	cmake --build --preset $(PRESET)

run: build
	@echo "== fedwall inspect $(EXAMPLE) --facts $(EXAMPLE_FACTS)"
	@$(BUILD_DIR)/tools/fedwall inspect $(EXAMPLE) --facts $(EXAMPLE_FACTS) --pretty

test: build
	ctest --preset $(PRESET) -j 2

bench: PRESET = release
bench: build
	@for b in $$(find $(BUILD_DIR) -name '*_bench' -type f -perm -u+x | sort); do \
	  echo "== $$b"; $$b --benchmark_min_time=0.2 || exit 1; done

format:
	@git ls-files '*.cc' '*.h' '*.proto' | xargs clang-format -i

clean:
	rm -rf build
