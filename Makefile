# The two commands a newcomer runs: `make demo` and `make test`.
GO      ?= go
BIN     := bin/imgraph
ROOTFS  := examples/base/rootfs
FUZZTIME ?= 5s

.PHONY: all build demo test lint unit fuzz bench clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/imgraph

# The local platform's base image, assembled from BusyBox.
$(ROOTFS): examples/base/make-rootfs.sh
	sh examples/base/make-rootfs.sh $(ROOTFS)

# The main job: bake the example monorepo on the local platform (a second
# run bakes nothing), then ask which images use the base image's script.
demo: build $(ROOTFS)
	./$(BIN) build //examples/...
	./$(BIN) query 'kind(image, rdeps(//examples/..., //examples/base:harden.sh))'

test: lint unit fuzz

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted"; exit 1; fi
	$(GO) vet ./...

unit:
	$(GO) test -race -count=1 ./...

# Each fuzz target runs for $(FUZZTIME) on top of its seed corpus.
fuzz:
	$(GO) test ./label -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME)
	$(GO) test ./label -run '^$$' -fuzz '^FuzzParsePattern$$' -fuzztime $(FUZZTIME)
	$(GO) test ./query -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME)

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

clean:
	rm -rf bin $(ROOTFS) imgraph-out
