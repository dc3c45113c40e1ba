#!/usr/bin/env bash
# Installs what the tests and the quick start need on a fresh Debian 12 machine.
set -euo pipefail
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
need_apt=()
for pkg in mosquitto mosquitto-clients openssl libsystemd-dev; do
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
python3 -m pip install --quiet --disable-pip-version-check awsiotsdk paho-mqtt
