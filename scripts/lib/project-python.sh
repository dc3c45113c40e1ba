# Puts the project's venv (.venv, made by scripts/setup-deps.sh with awsiotsdk and paho-mqtt) first on PATH and
# checks that the SDK imports. Sourced by the benchmark scripts; expects REPO to be set.
export PATH="$REPO/.venv/bin:$PATH"
python3 -c 'import awsiot' || { echo "needs awsiotsdk in $REPO/.venv: bash scripts/setup-deps.sh" >&2; exit 1; }
