# Day-to-day entry points; CI runs `make test` through .ci/run.
SWIFT ?= swift
# Extra flags for every swift build/run/test, e.g. SWIFT_FLAGS="--scratch-path .build-ci".
SWIFT_FLAGS ?=
# Extra arguments for `docflow serve`, e.g. make run ARGS="--http-port 0".
ARGS ?=
DEFAULT_AMQP_URL := amqp://guest:guest@127.0.0.1:5672/%2F
TEST_AMQP_URL := $(or $(DOCFLOW_TEST_AMQP_URL),$(DEFAULT_AMQP_URL))

.PHONY: deps broker build release run test format lint clean bench

deps:
	scripts/install-deps.sh

broker: deps
	scripts/ensure-rabbitmq.sh

build:
	$(SWIFT) build $(SWIFT_FLAGS)

release:
	$(SWIFT) build -c release $(SWIFT_FLAGS)

run: broker build
	$(SWIFT) run $(SWIFT_FLAGS) docflow serve $(ARGS)

# The tests use DOCFLOW_TEST_AMQP_URL, so that is the broker to make sure of.
test: deps
	DOCFLOW_AMQP_URL='$(TEST_AMQP_URL)' scripts/ensure-rabbitmq.sh
	DOCFLOW_TEST_AMQP_URL='$(TEST_AMQP_URL)' $(SWIFT) test $(SWIFT_FLAGS) --skip 'Disruptive|Timing|Browser'
# Tests that restart or disconnect the whole broker, hold the clock to a deadline, or drive a
# browser (chromium takes the cores the parallel tests' deadlines count on) run alone after the
# parallel ones.
	DOCFLOW_TEST_AMQP_URL='$(TEST_AMQP_URL)' $(SWIFT) test $(SWIFT_FLAGS) --skip-build --no-parallel --filter 'Disruptive|Timing|Browser'

# docflow against the broker's own ceiling; e.g. make bench BENCH_ARGS="--soak-seconds 300".
bench: broker
	$(SWIFT) build -c release $(SWIFT_FLAGS)
	"$$($(SWIFT) build -c release $(SWIFT_FLAGS) --show-bin-path)/docflow-bench" $(BENCH_ARGS)

format:
	$(SWIFT) format --in-place --recursive Sources Tests Package.swift

lint:
	$(SWIFT) format lint --recursive Sources Tests

clean:
	$(SWIFT) package $(SWIFT_FLAGS) clean
