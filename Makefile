# meshx — see README.md. Every target works from a fresh clone as root.
GO      ?= go
BIN     := bin
LAB     := $(BIN)/meshx-lab
MESHX   := $(BIN)/meshx

.PHONY: all build deps test unit integration demo lab-tool lab-up lab-down lab-status lab-binaries fmt vet bench clean

all: build

build:
	@mkdir -p $(BIN)
	$(GO) build -o $(MESHX) ./cmd/meshx
	$(GO) build -o $(LAB) ./lab/cmd/meshx-lab

# The whole suite: vet, unit tests, CLI scripts, short fuzz runs, and the
# end-to-end tests on the lab (each package starts its own lab instance).
test: deps build vet
	./scripts/test.sh

# Debian packages the lab needs (sshd, dnsmasq, sudo, …); quick when present.
deps:
	./scripts/install-deps.sh

unit:
	$(GO) test ./...

vet:
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

# The lab targets need only bin/meshx-lab (not the rest of the build).
# lab-binaries builds etcd, kube-apiserver and kube-controller-manager from
# lab/tools, and pilot-discovery, pilot-agent, istioctl and CoreDNS from
# lab/istiotools, into ~/.cache/meshx-lab once; lab-up is idempotent; lab-down
# removes everything lab-up made.
lab-tool:
	@mkdir -p $(BIN)
	$(GO) build -o $(LAB) ./lab/cmd/meshx-lab

lab-binaries: lab-tool
	$(LAB) build

lab-up: lab-binaries
	$(LAB) up

lab-down: lab-tool
	$(LAB) down

lab-status: lab-tool
	$(LAB) status

demo: build
	./scripts/demo.sh

bench: build
	./scripts/bench.sh

clean:
	rm -rf $(BIN)
