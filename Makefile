# FedKeeper: `make run` runs the default experiment on the embedded stack,
# `make test` runs every test (unit, workflow replay and end-to-end).

GO      ?= go
CONFIG  ?= config.yaml
BIN     := bin

.PHONY: run stack build test fuzz chaos compare screenshots bench paper functions images vet fmt clean

run: build
	$(BIN)/starter -config $(CONFIG)

# The embedded stack on its own: the Web UI stays up between experiments.
stack: build
	$(BIN)/stack -config $(CONFIG)

build:
	$(GO) build -o $(BIN)/starter ./starter
	$(GO) build -o $(BIN)/worker ./worker
	$(GO) build -o $(BIN)/stack ./stack
	$(GO) build -o $(BIN)/deploy ./cmd/deploy
	$(GO) build -o $(BIN)/fabric ./cmd/fabric
	$(GO) build -o $(BIN)/plot ./cmd/plot
	$(GO) build -o $(BIN)/evaluate ./cmd/evaluate

# One `go test` for all packages so they share one build; the end-to-end test builds
# the heavy binaries once itself.
test:
	tools/deps.sh
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 30m ./...

# Fuzz the config loader and the weights decoder (FUZZTIME each; go test runs their
# seed corpora every time).
FUZZTIME ?= 60s
fuzz:
	$(GO) test -run XXX -fuzz FuzzParse -fuzztime $(FUZZTIME) ./config
	$(GO) test -run XXX -fuzz FuzzDecode -fuzztime $(FUZZTIME) ./weights

# The benchmarks, each beside a baseline measured in the same run (about nine minutes
# on 2 cores, the 500-round experiment included); writes BENCHMARKS.md.
bench:
	$(GO) run ./cmd/bench -scale -out BENCHMARKS.md

# The functions as each platform deploys them (OpenWhisk action zip, Cloud Functions
# source archive, OpenFaaS image context), in dist/functions.
functions:
	$(GO) run ./cmd/package -out dist/functions

# The container images of docker-compose.yml (needs Docker).
images:
	docker compose --profile fabric --profile run build

# The paper's MLP experiment (docs/PAPER.md): about 40 minutes for 120 rounds on 2 cores.
paper: build
	$(BIN)/starter -config experiments/paper-mnist-mlp.yaml

# The comparison of strategies, attacks, selection policies, round modes and privacy,
# and FedAvg against FedProx on the FedProx paper's synthetic data at 0/50/90%
# stragglers (docs/comparison/): one seeded experiment per variant, about forty
# minutes on 2 cores. SETS=attack runs one set, SETS=synthetic the three synthetic ones.
SETS ?= strategies,attack,selection,rounds,privacy,synthetic
compare:
	$(GO) run ./cmd/compare -config experiments/compare.yaml -sets $(SETS)

# The dashboard's screenshots in the README: its browser test, leaving them in
# docs/images.
screenshots:
	mkdir -p docs/images
	FEDKEEPER_SCREENSHOTS=$(CURDIR)/docs/images $(GO) test -count=1 -run TestDashboardInABrowser ./e2e

# The chaos suite: the same seeded experiment without and with injected faults
# (several minutes); writes results/chaos.md.
chaos:
	$(GO) run ./cmd/chaos

vet:
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf $(BIN) .fedkeeper results dist
