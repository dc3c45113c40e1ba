#!/usr/bin/env bash
# Runs every test: unit tests of the pure cores and the integration tests that start real processes
# (mosquitto, the Python AWS IoT Device SDK, paho-mqtt, the nucleus and CLI binaries).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-deps.sh
# The project's Python (awsiotsdk, paho-mqtt) first: the tests' python3 and the components of the nucleus processes
# they start use it. (The tests also find .venv on their own when run with a plain `swift test`.)
export PATH="$PWD/.venv/bin:$PATH"
# The import rules ARCHITECTURE.md states (pure cores do no I/O; dependencies point one way).
bash scripts/check-architecture.sh
# Release build first: it must be warning-free too (every target treats warnings as errors).
source scripts/lib/release-build.sh
release_build
swift build --build-tests
# Suites run one at a time: several measure this process's memory or wall-clock timing (watchdog periods,
# log bursts) and share 2 cores; in parallel they measure each other. Serial, the tests themselves take ~3 min.
swift test --skip-build --no-parallel
