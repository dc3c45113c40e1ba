#!/usr/bin/env bash
# Builds the JSON coder benchmark in release mode and runs it (decode + encode, 10,000 times per body, both coders).
set -euo pipefail
cd "$(dirname "$0")"
swift build -c release --product json-bench
"$(swift build -c release --show-bin-path)/json-bench" "${@:-10000}"
