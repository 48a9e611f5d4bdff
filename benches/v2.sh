#!/usr/bin/env bash
# The cost of the same question through the Stats API v1 and v2, over HTTP,
# on the demo's data: each pair is asked alternately (so drift in the
# machine's speed hits both alike) and the medians are reported.
#
#   benches/v2.sh [ROUNDS] [EVENTS]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-40}"
events="${2:-300000}"
target="${CARGO_TARGET_DIR:-target}"
cargo build --release -q --workspace
bin="${GLASSHOUSE_BIN:-$target/release/glasshouse}"
dir="$(mktemp -d)"
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
GLASSHOUSE_LOG=warn "$bin" demo --data "$dir/data" --listen "127.0.0.1:$port" --days 30 --events "$events" > "$dir/out" 2>/dev/null & pid=$!
for _ in $(seq 600); do grep -q '^api token' "$dir/out" 2>/dev/null && break; sleep 0.5; done
token=$(awk '/^api token/ {print $3}' "$dir/out")
base="http://127.0.0.1:$port"
v1() { curl -fs -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $token" "$base/api/v1/stats/$1?site_id=www.gov.uk&period=30d&$2"; }
v2() { curl -fs -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $token" -H 'content-type: application/json' \
  "$base/api/v2/query" -d "{\"site_id\":\"www.gov.uk\",\"date_range\":\"30d\",$1}"; }
median() { sort -n | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)]*1000}'; }
ask() { # name, v1 endpoint, v1 params, v2 body
  : > "$dir/a"; : > "$dir/b"
  for _ in $(seq "$rounds"); do v1 "$2" "$3" >> "$dir/a"; v2 "$4" >> "$dir/b"; done
  printf '%-40s %10s %10s\n' "$1" "$(median < "$dir/a")" "$(median < "$dir/b")"
}
printf '%d events over 30 days; %d rounds, alternating\n' "$events" "$rounds"
printf '%-40s %10s %10s\n' "question (median ms)" "v1" "v2"
ask "aggregate, six metrics" aggregate "metrics=visitors,visits,pageviews,bounce_rate,visit_duration,events" \
  '"metrics":["visitors","visits","pageviews","bounce_rate","visit_duration","events"]'
ask "visitors by day" timeseries "metrics=visitors&interval=day" '"metrics":["visitors"],"dimensions":["time:day"]'
ask "top 10 pages, visitors and page views" breakdown "property=event:page&metrics=visitors,pageviews&limit=10" \
  '"metrics":["visitors","pageviews"],"dimensions":["event:page"],"pagination":{"limit":10}'
ask "top pages, filtered by source" breakdown "property=event:page&metrics=visitors&limit=10&filters=visit:source%3D%3DGoogle" \
  '"metrics":["visitors"],"dimensions":["event:page"],"filters":[["is","visit:source",["Google"]]],"pagination":{"limit":10}'
# Filters on part of the page: v1's `~` ignores case, as v2's `contains`
# does with `case_sensitive: false`; v2's default heeds case and runs as a
# pattern (the same pages here, where every path is lower case).
ask "visitors, pages containing a word" aggregate "metrics=visitors,pageviews&filters=event:page~universal" \
  '"metrics":["visitors","pageviews"],"filters":[["contains","event:page",["universal"],{"case_sensitive":false}]]'
ask "the same, v2 heeding case (a pattern)" aggregate "metrics=visitors,pageviews&filters=event:page~universal" \
  '"metrics":["visitors","pageviews"],"filters":[["contains","event:page",["universal"]]]'
# What a second dimension costs: v1 asks by page alone (it has no pairs),
# v2 by source and page, or by day and page (Plausible's order: days first).
ask "top 10 pages; v2 by source and page" breakdown "property=event:page&metrics=visitors,pageviews&limit=10" \
  '"metrics":["visitors","pageviews"],"dimensions":["visit:source","event:page"],"pagination":{"limit":10}'
ask "top 10 pages; v2 by day and page" breakdown "property=event:page&metrics=visitors,pageviews&limit=10" \
  '"metrics":["visitors","pageviews"],"dimensions":["time:day","event:page"],"pagination":{"limit":10}'
# Channels are worked out when asked (a CASE of patterns over the source
# and UTM tags): the same question in both APIs, then against the sources
# they are worked out from.
ask "channels" breakdown "property=visit:channel&metrics=visitors&limit=10" \
  '"metrics":["visitors"],"dimensions":["visit:channel"],"pagination":{"limit":10}'
ask "sources; v2 by channel" breakdown "property=visit:source&metrics=visitors&limit=10" \
  '"metrics":["visitors"],"dimensions":["visit:channel"],"pagination":{"limit":10}'
# v2 filter trees, against the nearest v1 question: an `or` across
# properties (read on each event with its visit) against a filter on one of
# them, and `has_done` (whole visits, through a sub-query over their
# events) against the filter it wraps.
ask "pages by source filter; v2 source or page" breakdown "property=event:page&metrics=visitors&limit=10&filters=visit:source%3D%3DGoogle" \
  '"metrics":["visitors"],"dimensions":["event:page"],"filters":[["or",[["is","visit:source",["Google"]],["contains","event:page",["universal"],{"case_sensitive":false}]]]],"pagination":{"limit":10}'
ask "visitors on a word; v2 has_done it" aggregate "metrics=visitors,pageviews&filters=event:page~universal" \
  '"metrics":["visitors","pageviews"],"filters":[["has_done",["contains","event:page",["universal"],{"case_sensitive":false}]]]'
# Whole-visit properties beside others: each event joined to its visit.
ask "exit pages; v2 by exit page and source" breakdown "property=visit:exit_page&metrics=visitors&limit=10" \
  '"metrics":["visitors"],"dimensions":["visit:exit_page","visit:source"],"pagination":{"limit":10}'
