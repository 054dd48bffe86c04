# The README's test command is `make test`. Long runs live in fuzz, stress and bench.
GO ?= go
export PATH := $(PATH):/usr/local/go/bin
FUZZTIME ?= 2m

.PHONY: build test deps lint fuzz stress bench diff clean

build:
	CGO_ENABLED=0 $(GO) build -o bin/courier ./cmd/courier
	CGO_ENABLED=0 $(GO) build -tags lean -o bin/courier-mda ./cmd/courier-mda
	CGO_ENABLED=1 $(GO) build -o bin/courier-authpam ./cmd/courier-authpam

deps:
	bash scripts/install-test-deps.sh

# Every test: vet, the race-checked unit, protocol and end-to-end tests, and the
# differential scenarios against real Courier.
test: deps build
	$(GO) vet ./...
	$(GO) vet -tags lean ./cmd/courier-mda ./internal/filter/maildrop
	$(GO) test -race -count=1 -timeout 20m ./...
	bash scripts/diff-conformance.sh

lint:
	@test -z "$$(gofmt -l .)" || (gofmt -l .; echo "gofmt needed"; exit 1)
	$(GO) vet ./...

# Each fuzz target for FUZZTIME.
fuzz:
	bash scripts/fuzz-all.sh $(FUZZTIME)

stress:
	COURIER_STRESS=full $(GO) test -count=1 -timeout 60m -run 'Stress|Crash' ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

diff: build
	bash scripts/diff-conformance.sh

clean:
	rm -rf bin
