#!/usr/bin/env bash
# Runs every test: unit tests of the pure cores and the integration tests that start real
# processes (mosquitto, the Python AWS IoT Device SDK, the nucleus and CLI binaries).
# Prerequisites are installed by scripts/setup-deps.sh (CI runs it first).
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release
swift build --build-tests
swift test --skip-build --parallel --num-workers 2 2>&1 | tee .build/test-output.log
