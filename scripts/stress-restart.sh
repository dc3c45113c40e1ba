#!/usr/bin/env bash
# kill -9 / restart stress of the nucleus (issue 7): repeats "start the nucleus -> every deployed component RUNNING
# (polled with greengrass-cli component list) -> kill -9" and prints how many cycles recovered within the bound,
# with the median, p95 and worst recovery time (spawn of the nucleus until all components are RUNNING again).
#
# Usage: scripts/stress-restart.sh [cycles]           (default 100)
# Environment: GG_STRESS_TIME_LIMIT (seconds, default 300), GG_STRESS_BOUND_MS (default 2000),
#              SCRATCH (build folder, default .build), CONFIG (release or debug nucleus/CLI, default release),
#              GG_FOCUS=NucleusIntegrationTests to build only what the test needs.
# The cycle itself is the test DurabilityStressTests in Tests/NucleusIntegrationTests.
set -euo pipefail
cd "$(dirname "$0")/.."
scratch="${SCRATCH:-.build}"
config="${CONFIG:-release}"
swift build -c "$config" --scratch-path "$scratch" --product greengrass-nucleus
swift build -c "$config" --scratch-path "$scratch" --product greengrass-cli
swift build --build-tests --scratch-path "$scratch"
GG_BIN_DIR="$(pwd)/$scratch/$config" GG_STRESS_CYCLES="${1:-100}" \
    swift test --skip-build --scratch-path "$scratch" --filter DurabilityStressTests
