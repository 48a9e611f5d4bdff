-- wrk script for benches/ingest.sh: page views from many addresses, pages
-- and browsers, as the tracker sends them.
local agents = {
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36",
  "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Mobile Safari/537.36",
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15",
}
local referrers = { "https://www.google.com/", "", "https://www.bing.com/", "https://www.bbc.co.uk/news" }
local threads = {}
local id = 0

function setup(thread)
  thread:set("id", id)
  id = id + 1
  table.insert(threads, thread)
end

-- Requests are built once, in init: wrk runs on the same two cores as the
-- server, and formatting each request in Lua cost it a third of the machine.
-- 200,000 distinct addresses cycle, so each visitor comes back every few
-- seconds: visits of a few page views, as real traffic has (the first
-- version of this script made every request a new visitor).
local reqs = {}
local count = 200000

-- With ENGAGEMENT=1 every page view is followed by the engagement report
-- Plausible's tracker sends when the page is left (same visitor, same page).
local engagement = os.getenv("ENGAGEMENT") == "1"

function init(args)
  local step = engagement and 2 or 1
  for n = 1, count, step do
    local k = n * 7 + id * 1000003
    local ip = string.format("86.%d.%d.%d", 128 + (k % 64), math.floor(k / 64) % 256, (k % 253) + 1)
    local page = "/guidance/page-" .. (k % 997)
    local ref = referrers[(k % #referrers) + 1]
    local headers = {
      ["Content-Type"] = "text/plain",
      ["User-Agent"] = agents[(k % #agents) + 1],
      ["X-Forwarded-For"] = ip,
    }
    local body = '{"n":"pageview","u":"https://www.gov.uk' .. page .. '","d":"www.gov.uk","r":"' .. ref .. '"}'
    reqs[n] = wrk.format("POST", "/api/event", headers, body)
    if engagement then
      local report = '{"n":"engagement","u":"https://www.gov.uk' .. page .. '","d":"www.gov.uk","sd":' .. (k % 101) .. ',"e":' .. (k % 60000) .. ',"v":36}'
      reqs[n + 1] = wrk.format("POST", "/api/event", headers, report)
    end
  end
end

local n = 0
function request()
  n = n % count + 1
  return reqs[n]
end

function done(summary, latency, requests)
  local non2xx = summary.errors.status
  io.write(string.format("requests=%d seconds=%.2f rate=%.0f non2xx=%d socket_errors=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6), non2xx,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
  io.write(string.format("latency_ms p50=%.2f p90=%.2f p99=%.2f max=%.2f\n",
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
