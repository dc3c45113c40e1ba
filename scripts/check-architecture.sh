#!/usr/bin/env bash
# Checks the import rules ARCHITECTURE.md states, so the map stays true:
#   - pure cores import no socket, file-system or process layer (NIOPosix, Subprocess, SystemPackage, Glibc) and
#     touch no files or processes (FileManager, open/fopen, Process);
#   - pure cores depend on no I/O shell, composition root or executable module;
#   - nothing but the composition root and the executables imports the composition root.
# Prints every violation with file and line; exit status 1 when there is one.
set -euo pipefail
cd "$(dirname "$0")/.."

PURE=(EventStream MQTTCore GreengrassJSON GreengrassRecipe GreengrassLifecycle GreengrassLogFormat
      GreengrassIPCModel GreengrassAuthorization GreengrassConfig)
SHELLS=(EventStreamRPCServer EventStreamRPCClient MQTTClient GreengrassLogging GreengrassSupervisor SQLite GreengrassStore GreengrassSpool
        GreengrassDeployment GreengrassIPCServices GreengrassPubSub GreengrassBridge SystemdNotify ProcessMemory GreengrassCLICommands ZipExtraction)
ROOTS=(GreengrassNucleus)
violations=0
report() { echo "architecture: $1"; violations=$((violations + 1)); }

modules_pattern() { local IFS='|'; echo "$*"; }
shell_or_root=$(modules_pattern "${SHELLS[@]}" "${ROOTS[@]}" NucleusMain CLIMain)

for module in "${PURE[@]}"; do
    dir=Sources/$module
    [ -d "$dir" ] || { report "$dir is listed as a pure core but does not exist"; continue; }
    while IFS= read -r hit; do
        report "$hit: a pure core must not do I/O (see ARCHITECTURE.md)"
    done < <(grep -rnE '^\s*(@preconcurrency\s+)?((public|package|internal)\s+)?import\s+(NIOPosix|Subprocess|SystemPackage|Glibc|Musl)\b|\bFileManager\b|\bfopen\(|[^.a-zA-Z_]open\(|\bProcess\(' "$dir" || true)
    while IFS= read -r hit; do
        report "$hit: a pure core must not import an I/O shell, the composition root or an executable"
    done < <(grep -rnE "^\s*(@preconcurrency\s+)?((public|package|internal)\s+)?import\s+($shell_or_root)\s*$" "$dir" || true)
done

for module in "${SHELLS[@]}"; do
    while IFS= read -r hit; do
        report "$hit: an I/O shell must not import the composition root"
    done < <(grep -rnE "^\s*((public|package|internal)\s+)?import\s+(GreengrassNucleus|NucleusMain|CLIMain)\s*$" "Sources/$module" || true)
done

if [ "$violations" -gt 0 ]; then
    echo "architecture: $violations violation(s)"
    exit 1
fi
echo "architecture: import rules hold (${#PURE[@]} pure cores, ${#SHELLS[@]} I/O shells)"
