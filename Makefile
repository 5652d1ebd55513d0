# The two commands a newcomer runs: `make demo` and `make test`.
GO      ?= go
BIN     := bin/imgraph
ROOTFS  := examples/base/rootfs
FUZZTIME ?= 200000x

EMULATORS := internal/emulators

.PHONY: all build demo test lint unit fuzz bench clean deps

all: build

# The version is stamped from git: the nearest tag and the commits since,
# or the commit, "-dirty" when the tree has changes.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/imgraph

# The local platform's base image, assembled from BusyBox.
$(ROOTFS): examples/base/make-rootfs.sh
	sh examples/base/make-rootfs.sh $(ROOTFS)

# The main job: bake the example monorepo on the local platform (a second
# run bakes nothing), then ask which images use the base image's script.
demo: build $(ROOTFS)
	./$(BIN) build //examples/...
	./$(BIN) query 'kind(image, rdeps(//examples/..., //examples/base:harden.sh))'

test: lint unit fuzz

# What the tests need beyond Go: BusyBox for real chroot bakes, and the
# DynamoDB and S3 emulators (pinned by their lock file) for the shared cache.
deps: $(ROOTFS) $(EMULATORS)/node_modules/.installed

$(EMULATORS)/node_modules/.installed: $(EMULATORS)/package.json $(EMULATORS)/package-lock.json
	@command -v npm >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; }
	cd $(EMULATORS) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) run ./cmd/imgraph fmt --check //examples/...

# The emulators must run: a test that cannot start them fails here.
unit: deps
	IMGRAPH_REQUIRE_EMULATORS=1 $(GO) test -race -count=1 ./...

# Each fuzz target runs $(FUZZTIME) inputs beyond its seed corpus: a count
# rather than a time, since on a busy machine a time limit has ended a run
# with "context deadline exceeded" and no failing input.
fuzz:
	$(GO) test ./label -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME)
	$(GO) test ./label -run '^$$' -fuzz '^FuzzParsePattern$$' -fuzztime $(FUZZTIME)
	$(GO) test ./query -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME)

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

clean:
	rm -rf bin $(ROOTFS) imgraph-out
