#!/usr/bin/env bash
# Installs (or upgrades, or removes) the Swift Greengrass nucleus, with the Greengrass installer's option names
# where they fit. Run as root for a system install:
#
#   sudo scripts/install.sh --root /greengrass/v2 --init-config config.yaml \
#        --component-default-user ggc_user:ggc_group --setup-system-service true
#
# Idempotent: a re-run replaces the binaries and the unit and keeps config/, deployments, packages/ and work/.
set -euo pipefail

PROGRAM=$(basename "$0")
REPO=$(cd "$(dirname "$0")/.." && pwd)

usage() {
    cat <<EOF
Usage: $PROGRAM [options]
  --root DIR                          install root (default /greengrass/v2)
  --init-config FILE                  initial configuration (config.yaml shape); written to <root>/config/config.yaml
                                      on the first install only, never over an existing one
  --setup-system-service true|false   install greengrass.service and enable it when systemd runs (default false)
  --start true|false                  with --setup-system-service: (re)start the service now (default true)
  --component-default-user USER[:GROUP]
                                      create this system user (and group) if missing and make it the components'
                                      default runWith user in the initial configuration
  --bin-dir DIR                       take greengrass-nucleus and greengrass-cli from DIR instead of building them
  --uninstall                         stop and remove the service and the install root
  --keep-config true|false            with --uninstall: keep <root>/config (default false)
  -h, --help                          show this help
EOF
}

# Prints the problem and the usage on stderr, exit status 2 (a usage error, as argument parsers use).
die_usage() {
    echo "$PROGRAM: $1" >&2
    usage >&2
    exit 2
}

die() {
    echo "$PROGRAM: $1" >&2
    exit 1
}

boolean() { # option value
    case "$2" in
        true | false) echo "$2" ;;
        *) die_usage "option $1 takes true or false, not '$2'" ;;
    esac
}

ROOT=/greengrass/v2
INIT_CONFIG=""
SETUP_SERVICE=false
START=true
DEFAULT_USER=""
BIN_DIR=""
UNINSTALL=false
KEEP_CONFIG=false

while [ $# -gt 0 ]; do
    option=$1
    case "$option" in
        -h | --help)
            usage
            exit 0
            ;;
        --uninstall)
            UNINSTALL=true
            shift
            continue
            ;;
        --root | --init-config | --setup-system-service | --start | --component-default-user | --bin-dir | --keep-config)
            [ $# -ge 2 ] || die_usage "option $option needs a value"
            value=$2
            shift 2
            ;;
        --*=*)
            # --option=value: split into two words and look at them again.
            set -- "${option%%=*}" "${option#*=}" "${@:2}"
            continue
            ;;
        *) die_usage "unknown option '$option'" ;;
    esac
    case "$option" in
        --root) ROOT=$value ;;
        --init-config) INIT_CONFIG=$value ;;
        --setup-system-service) SETUP_SERVICE=$(boolean "$option" "$value") ;;
        --start) START=$(boolean "$option" "$value") ;;
        --component-default-user) DEFAULT_USER=$value ;;
        --bin-dir) BIN_DIR=$value ;;
        --keep-config) KEEP_CONFIG=$(boolean "$option" "$value") ;;
    esac
done

case "$ROOT" in
    /*) ;;
    *) die_usage "option --root needs an absolute path, not '$ROOT'" ;;
esac
ROOT=${ROOT%/}
[ -n "$ROOT" ] || die_usage "option --root must not be /"
case "$ROOT" in
    *[[:space:]\|\&\;\'\"\\]*) die_usage "option --root must not contain spaces or shell metacharacters: '$ROOT'" ;;
esac
if [ -n "$DEFAULT_USER" ]; then
    [[ "$DEFAULT_USER" =~ ^[a-z_][a-z0-9_-]*(:[a-z_][a-z0-9_-]*)?$ ]] ||
        die_usage "option --component-default-user takes USER or USER:GROUP (lower-case names), not '$DEFAULT_USER'"
fi
if [ -n "$INIT_CONFIG" ] && [ ! -r "$INIT_CONFIG" ]; then
    die_usage "option --init-config names a file that cannot be read: '$INIT_CONFIG'"
fi
if [ -n "$BIN_DIR" ] && [ ! -d "$BIN_DIR" ]; then
    die_usage "option --bin-dir names a directory that does not exist: '$BIN_DIR'"
fi

UNIT_NAME=greengrass.service
UNIT_PATH=/etc/systemd/system/$UNIT_NAME

systemd_running() { [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; }

# The pid of the greengrass-nucleus that holds $ROOT's lock (the nucleus takes a POSIX lock on <root>/nucleus.lock
# and writes its pid there), or nothing. The pid in the file alone could be stale after a kill -9 and recycled by
# now, so it counts only while /proc/locks shows that pid holding a lock on that very file.
root_owner() {
    local lock=$ROOT/nucleus.lock pid device inode
    [ -f "$lock" ] || return 0
    pid=$(head -c 16 "$lock" | tr -dc 0-9)
    [ -n "$pid" ] || return 0
    inode=$(stat -c %i "$lock")
    while read -r _ kind _ _ holder device _; do
        [ "$kind" = POSIX ] && [ "$holder" = "$pid" ] && [ "${device##*:}" = "$inode" ] && { echo "$pid"; return 0; }
    done </proc/locks
    return 0
}

if [ "$UNINSTALL" = true ]; then
    removed_unit=false
    if systemd_running && [ -f "$UNIT_PATH" ]; then
        systemctl disable --now "$UNIT_NAME" || true
        rm -f "$UNIT_PATH"
        systemctl daemon-reload
        removed_unit=true
    fi
    if [ ! -e "$ROOT" ]; then
        if [ "$removed_unit" = true ]; then
            echo "Removed $UNIT_NAME; there was no install root at $ROOT."
        else
            echo "Nothing to uninstall: $ROOT does not exist."
        fi
        exit 0
    fi
    [ -d "$ROOT" ] || die "$ROOT is not a directory; not removing it"
    owner=$(root_owner)
    if [ -n "$owner" ]; then
        # Removing the files under a running nucleus would leave it (and its components) running on a deleted root.
        echo "$PROGRAM: warning: a greengrass-nucleus (pid $owner) is running on $ROOT; stopping it before removing the root" >&2
        kill -TERM "$owner" 2>/dev/null || true
        for _ in $(seq 1 900); do kill -0 "$owner" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$owner" 2>/dev/null; then
            die "the nucleus (pid $owner) did not stop within 90 s; $ROOT is left in place"
        fi
    fi
    if [ -d "$ROOT" ]; then
        # rm -rf on a mistyped --root (/usr, /home) must never happen: only a directory we installed goes.
        # (A root holding only config/ is what an uninstall with --keep-config true left.)
        [ -e "$ROOT/bin/greengrass-nucleus" ] || [ -e "$ROOT/greengrass.service" ] || [ "$(ls -A "$ROOT")" = config ] ||
            die "$ROOT does not look like a Greengrass install (no bin/greengrass-nucleus); not removing it"
        if [ "$KEEP_CONFIG" = true ]; then
            find "$ROOT" -mindepth 1 -maxdepth 1 ! -name config -exec rm -rf {} +
        else
            rm -rf "$ROOT"
        fi
    fi
    echo "Uninstalled from $ROOT$([ "$KEEP_CONFIG" = true ] && echo " (kept $ROOT/config)")."
    exit 0
fi

# 1. Binaries: built in release mode unless --bin-dir names prebuilt ones.
if [ -z "$BIN_DIR" ]; then
    source "$REPO/scripts/lib/release-build.sh"
    (cd "$REPO" && release_build --product greengrass-nucleus && release_build --product greengrass-cli)
    BIN_DIR=$(cd "$REPO" && release_bin_path)
fi
for binary in greengrass-nucleus greengrass-cli; do
    [ -x "$BIN_DIR/$binary" ] || die "no executable $BIN_DIR/$binary"
done

# 2. Layout (modes as the Java nucleus uses them). Existing content is kept.
install -d -m 755 "$ROOT" "$ROOT/bin"
install -d -m 700 "$ROOT/config" "$ROOT/logs" "$ROOT/deployments"
install -d -m 755 "$ROOT/packages" "$ROOT/work"

# Copy beside the target and rename over it: an upgrade never leaves a half-written binary, and a running
# nucleus keeps its old (unlinked) file.
for binary in greengrass-nucleus greengrass-cli; do
    install -m 755 "$BIN_DIR/$binary" "$ROOT/bin/.$binary.new"
    mv -f "$ROOT/bin/.$binary.new" "$ROOT/bin/$binary"
done

# 3. Component default user and group (idempotent: only created when missing).
if [ -n "$DEFAULT_USER" ]; then
    user=${DEFAULT_USER%%:*}
    group=${DEFAULT_USER#*:}
    [ "$group" != "$DEFAULT_USER" ] || group=$user
    [ "$(id -u)" -eq 0 ] || die "creating user $user needs root"
    getent group "$group" >/dev/null || groupadd --system "$group"
    id -u "$user" >/dev/null 2>&1 || useradd --system --gid "$group" --no-create-home --shell /usr/sbin/nologin "$user"
fi

# 4. Initial configuration: only when there is none yet, so a re-run never overwrites what the device has.
CONFIG_FILE=$ROOT/config/config.yaml
if [ ! -e "$CONFIG_FILE" ] && [ -z "$INIT_CONFIG" ] && [ -z "$DEFAULT_USER" ]; then
    : # Nothing to say: no file at all (an empty one is not a valid configuration); the nucleus uses its defaults.
elif [ ! -e "$CONFIG_FILE" ]; then
    {
        if [ -n "$INIT_CONFIG" ]; then
            cat "$INIT_CONFIG"
        elif [ -n "$DEFAULT_USER" ]; then
            printf 'services:\n  aws.greengrass.Nucleus:\n    configuration:\n      runWithDefault:\n        posixUser: "%s"\n' "$DEFAULT_USER"
        fi
    } >"$CONFIG_FILE.new"
    # YAML is not merged in shell: a given file is taken as is, so it must name the default user itself.
    if [ -n "$INIT_CONFIG" ] && [ -n "$DEFAULT_USER" ] && ! grep -q "posixUser" "$INIT_CONFIG"; then
        echo "$PROGRAM: note: add runWithDefault.posixUser: $DEFAULT_USER to the Nucleus configuration in $INIT_CONFIG" >&2
    fi
    chmod 600 "$CONFIG_FILE.new"
    mv -f "$CONFIG_FILE.new" "$CONFIG_FILE"
elif [ -n "$INIT_CONFIG" ]; then
    echo "$PROGRAM: keeping the existing $CONFIG_FILE (not replaced by $INIT_CONFIG)" >&2
fi

# 5. The unit, with the install root substituted. A copy always goes in the root (for reference and checks);
#    it is installed and enabled only when asked and systemd is the running init.
sed "s|/greengrass/v2|$ROOT|g" "$REPO/packaging/$UNIT_NAME" >"$ROOT/$UNIT_NAME"
chmod 644 "$ROOT/$UNIT_NAME"
if [ "$SETUP_SERVICE" = true ]; then
    if systemd_running; then
        install -m 644 "$ROOT/$UNIT_NAME" "$UNIT_PATH"
        systemctl daemon-reload
        systemctl unmask "$UNIT_NAME" >/dev/null 2>&1 || true
        systemctl enable "$UNIT_NAME"
        if [ "$START" = true ]; then systemctl restart "$UNIT_NAME"; fi
    else
        echo "$PROGRAM: systemd is not running here; not installing $UNIT_NAME (copy left at $ROOT/$UNIT_NAME)" >&2
    fi
fi

echo "Installed greengrass-nucleus in $ROOT."
if [ "$SETUP_SERVICE" != true ] || ! systemd_running; then
    echo "Run it with: $ROOT/bin/greengrass-nucleus --root $ROOT"
fi
