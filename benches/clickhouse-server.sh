#!/usr/bin/env bash
# Starts a local ClickHouse server for benchmarks and trying the ClickHouse
# back end: 127.0.0.1 only, data in DIR, HTTP on PORT (default 8123).
#   benches/clickhouse-server.sh DIR [PORT]
# Stop it with: kill "$(cat DIR/server.pid)"
set -euo pipefail
dir="$(mkdir -p "$1" && cd "$1" && pwd)"
http_port="${2:-8123}"
tcp_port="$((http_port + 777))"
program="$(command -v clickhouse-server || echo /usr/sbin/clickhouse-server)"
mkdir -p "$dir/log" "$dir/data" "$dir/tmp"
cat > "$dir/config.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>$dir/log/server.log</log><errorlog>$dir/log/error.log</errorlog><size>10M</size><count>1</count></logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>$http_port</http_port>
  <tcp_port>$tcp_port</tcp_port>
  <path>$dir/data/</path>
  <tmp_path>$dir/tmp/</tmp_path>
  <user_files_path>$dir/user_files/</user_files_path>
  <format_schema_path>$dir/format_schemas/</format_schema_path>
  <users_config>$dir/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mark_cache_size>67108864</mark_cache_size>
  <uncompressed_cache_size>67108864</uncompressed_cache_size>
  <mlock_executable>false</mlock_executable>
</yandex>
XML
cat > "$dir/users.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <profiles><default></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
XML
setsid "$program" --config-file="$dir/config.xml" > "$dir/log/stdout.log" 2>&1 &
sleep 0.5; pgrep -f -n "config-file=$dir/config.xml" > "$dir/server.pid" || true
for _ in $(seq 1 300); do
  if curl -fs "http://127.0.0.1:$http_port/ping" >/dev/null 2>&1; then
    echo "ClickHouse is listening on http://127.0.0.1:$http_port (pid $(cat "$dir/server.pid"))"
    exit 0
  fi
  sleep 0.2
done
echo "ClickHouse did not start; see $dir/log" >&2
exit 1
