# meshx — see README.md. Every target works from a fresh clone as root.
GO      ?= go
BIN     := bin
LAB     := $(BIN)/meshx-lab
MESHX   := $(BIN)/meshx

.PHONY: all build test unit integration demo lab-up lab-down lab-status lab-binaries fmt vet bench clean

all: build

build:
	@mkdir -p $(BIN)
	$(GO) build -o $(MESHX) ./cmd/meshx
	$(GO) build -o $(LAB) ./lab/cmd/meshx-lab

# The whole suite: vet, unit tests, CLI scripts, a short fuzz run, and the
# integration tests on the lab (brought up once, shared by all packages).
test: build vet
	./scripts/test.sh

unit:
	$(GO) test ./...

vet:
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

lab-binaries: build
	$(LAB) build

lab-up: build
	$(LAB) up

lab-down: build
	$(LAB) down

lab-status: build
	$(LAB) status

demo: build
	./scripts/demo.sh

bench: build
	./scripts/bench.sh

clean:
	rm -rf $(BIN)
