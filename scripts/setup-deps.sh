#!/usr/bin/env bash
# Installs what the tests and the quick start need on a fresh Debian 12 machine.
# Python packages go into the project's virtual environment <repo>/.venv (git-ignored), made with Debian's own
# /usr/bin/python3: Debian 12 marks its python3 "externally managed" (PEP 668), so a plain `pip install` fails there.
# scripts/test.sh and scripts/quickstart.sh put .venv/bin first on PATH; the tests find it on their own.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
need_apt=()
for pkg in mosquitto mosquitto-clients openssl libyaml-dev libzip-dev libsqlite3-dev libssl-dev python3-venv; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}"
fi
# The apt package enables a system-wide broker on port 1883; tests start their own on free ports.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    $SUDO systemctl disable --now mosquitto >/dev/null 2>&1 || true
fi
VENV="$PWD/.venv"
# Debian's interpreter on purpose, not whichever python3 comes first on PATH (pyenv, another venv).
[ -x "$VENV/bin/python3" ] || /usr/bin/python3 -m venv "$VENV"
# Pinned to the versions the tests' recorded vectors and expectations come from (Tests/Fixtures/README.md).
PY_PACKAGES=(awsiotsdk==1.31.0 awscrt==0.36.1 paho-mqtt==2.2.0)
# Quick when already installed: the versions are checked locally, without pip or the network.
if ! "$VENV/bin/python3" - "${PY_PACKAGES[@]}" 2>/dev/null <<'PY'
import importlib.metadata, sys
sys.exit(any(importlib.metadata.version(name) != version for name, version in (a.split("==") for a in sys.argv[1:])))
PY
then
    echo "==> Installing ${PY_PACKAGES[*]} into $VENV"
    "$VENV/bin/python3" -m pip install --quiet --disable-pip-version-check "${PY_PACKAGES[@]}"
fi
