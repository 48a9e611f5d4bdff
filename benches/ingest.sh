#!/usr/bin/env bash
# Ingest over HTTP on loopback: wrk posts page views to a running glasshouse;
# every 202 means the event is durable (group commit). Reports throughput,
# latency percentiles, the server's CPU per event and peak RSS, and the rate
# of GET /health in the same minute (the machine's ceiling that hour), then
# checks that the number of stored events equals the number of 202s.
#
#   benches/ingest.sh [SECONDS] [CONNECTIONS]
#   ENGAGEMENT=1 benches/ingest.sh …   (each page view followed by its engagement report)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-20}"
conns="${2:-64}"
target="${CARGO_TARGET_DIR:-target}"
for tool in wrk time; do
  [ -x "/usr/bin/$tool" ] || apt-get install -y -qq "$tool" >/dev/null 2>&1 || sudo apt-get install -y -qq "$tool"
done
# The workspace's features, as the README's commands build them (no DuckDB rebuild).
cargo build --release -q --workspace
bin="${GLASSHOUSE_BIN:-$target/release/glasshouse}"  # another build to compare with
dir="$(mktemp -d)"
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
token="bench-$(date +%s%N)"
sha=$(printf %s "$token" | sha256sum | cut -d' ' -f1)
cat > "$dir/glasshouse.toml" <<TOML
listen = "127.0.0.1:$port"
data_dir = "data"
trusted_proxies = ["127.0.0.1/32"]
[[organisations]]
id = "bench"
name = "Bench"
[[sites]]
host = "www.gov.uk"
organisation = "bench"
[[api_tokens]]
name = "bench"
organisation = "bench"
sha256 = "$sha"
all_sites = true
TOML
GLASSHOUSE_LOG=warn ${GLASSHOUSE_BENCH_WRAP:-} "$bin" serve --config "$dir/glasshouse.toml" & pid=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
peak=0
( while kill -0 "$pid" 2>/dev/null; do awk '/VmRSS/ {print $2}' /proc/$pid/status; sleep 0.2; done ) > "$dir/rss" &
sampler=$!
echo "glasshouse ingest benchmark: $(nproc) cores, ${seconds}s, $conns connections"
cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
# CPU ticks by thread name (the comm field may hold spaces: take it between
# the parentheses), to see where the server's time goes.
thread_ticks() { for f in /proc/"$pid"/task/*/stat; do sed -E 's/^[0-9]+ \(([^)]*)\) (.*)$/\1 \2/' "$f" 2>/dev/null; done | awk '{t[$1] += $13 + $14} END {for (k in t) print k, t[k]}' | sort; }
# Nanoseconds each thread waited, runnable, for a CPU (the scheduler's
# counters): on a machine shared with the load generator, where time goes
# that the CPU figures do not show.
thread_waits() { for t in /proc/"$pid"/task/*; do echo "$(tr ' ' _ < "$t/comm") $(cut -d' ' -f2 "$t/schedstat")"; done 2>/dev/null | awk '{t[$1] += $2} END {for (k in t) print k, t[k]}' | sort; }
# The machine's speed drifts 10-20 % within an hour. A few seconds of the
# cheapest route (GET /health, no body, no store) at the same connections
# give this hour's ceiling for any request, to read the event rate against.
health=$(wrk -t1 -c"$conns" -d"${HEALTH_SECONDS:-5}s" "http://127.0.0.1:$port/health" \
  | awk '/^Requests\/sec/ {printf "%.0f", $2}')
echo "health_rate=$health"
thread_ticks > "$dir/threads.before"
thread_waits > "$dir/waits.before"
before=$(cpu_ticks)
/usr/bin/time -f "load_generator_cpu_percent=%P load_generator_user_s=%U load_generator_sys_s=%S" -o "$dir/wrk.time" wrk -t1 -c"$conns" -d"${seconds}s" --latency -s benches/ingest.lua "http://127.0.0.1:$port" | grep -E '^(requests|latency_ms)' | tee "$dir/wrk.out"
after=$(cpu_ticks)
thread_ticks > "$dir/threads.after"
thread_waits > "$dir/waits.after"
cat "$dir/wrk.time"
metric() { curl -fs -H "Authorization: Bearer $token" "http://127.0.0.1:$port/metrics" | awk -v m="glasshouse_$1" '$1 == m || $1 == m"_total" {print $2}'; }
written=$(metric ingest_written); batches=$(metric ingest_batches)
echo "store_inserts=$(metric store_inserts) store_insert_seconds=$(metric store_insert_seconds)"
[ -n "$written" ] && [ -n "$batches" ] && [ "$batches" -gt 0 ] && echo "group_commits=$batches events_per_commit=$((written / batches))"
echo "server_cpu_percent=$(( (after - before) * 100 / $(getconf CLK_TCK) / seconds ))"
# Server CPU per request, in microseconds (each request is one event), and
# the event rate against this hour's GET /health rate.
read -r requests rate < <(awk -F'[ =]' '/^requests=/ {print $2, $6}' "$dir/wrk.out")
[ "${requests:-0}" -gt 0 ] && echo "server_cpu_us_per_event=$(( (after - before) * 1000000 / $(getconf CLK_TCK) / requests ))"
[ "${health:-0}" -gt 0 ] && echo "rate_of_health_rate_percent=$(( rate * 100 / health ))"
# Per thread: CPU percent of one core (threads that ended mid-run are left out).
join -a2 -e0 -o 0,1.2,2.2 "$dir/threads.before" "$dir/threads.after" \
  | awk -v hz="$(getconf CLK_TCK)" -v s="$seconds" '{printf "%s%s=%d", (NR > 1 ? " " : "server_threads "), $1, ($3 - $2) * 100 / hz / s} END {print ""}'
# Per thread: time spent waiting for a CPU, as a percent of one core.
join -a2 -e0 -o 0,1.2,2.2 "$dir/waits.before" "$dir/waits.after" \
  | awk -v s="$seconds" '{printf "%s%s=%d", (NR > 1 ? " " : "server_threads_waiting "), $1, ($3 - $2) / 1e7 / s} END {print ""}'
sleep 0.5
stored=$(curl -fs -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/v1/stats/aggregate?site_id=www.gov.uk&period=day&metrics=pageviews" | python3 -c 'import json,sys; print(json.load(sys.stdin)["results"]["pageviews"]["value"])')
kill -TERM "$pid"; wait "$pid" || true
kill "$sampler" 2>/dev/null || true
peak=$(sort -n "$dir/rss" | tail -1)
echo "stored_pageviews=$stored peak_rss_mib=$((peak / 1024))"
