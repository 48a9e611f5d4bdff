#!/usr/bin/env bash
# Runs the ClickHouse store suites and the server's ClickHouse tests against
# a current ClickHouse release (chDB, ClickHouse in-process, behind
# scripts/clickhouse-current.py), where only Debian's 18.16 server can be
# installed. Installs chDB into a virtualenv under ~/.cache on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${GLASSHOUSE_CHDB_VENV:-$HOME/.cache/glasshouse/chdb-venv}"
if ! "$venv/bin/python" -c 'import chdb' 2>/dev/null; then
  echo "installing chDB (a current ClickHouse, in-process) into $venv"
  if ! python3 -m venv "$venv" 2>/dev/null; then
    as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
    as_root apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv "$venv"
  fi
  "$venv/bin/pip" install -q --disable-pip-version-check 'chdb-core==26.9.0'
fi
dir="$(mktemp -d)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$venv/bin/python" scripts/clickhouse-current.py "$port" "$dir/data" > "$dir/log" 2>&1 & pid=$!
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
ping() { python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/ping', timeout=2)" 2>/dev/null; }
for _ in $(seq 300); do ping && break; sleep 0.1; done
ping || { cat "$dir/log"; exit 1; }
head -1 "$dir/log"
export GLASSHOUSE_CLICKHOUSE_PORT="$port"
# The store's and the server's test files with ClickHouse tests, in one
# workspace-wide invocation: `cargo test -p …` would resolve other features
# than the README's build and compile DuckDB's C++ a second time.
targets=()
for f in $(grep -l 'fn [a-z0-9_]*clickhouse' crates/store/tests/*.rs crates/server/tests/*.rs); do
  targets+=(--test "$(basename "$f" .rs)")
done
cargo test --release --workspace "${targets[@]}" -- clickhouse
