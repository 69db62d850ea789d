-- wrk script for bench/throughput.py: POST order.created events with unique event ids,
-- alternating amount 1299 (condition true) and 499 (false).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

local counter = 0
local prefix = tostring(math.random(1, 1e9))

function setup(thread)
  thread:set("tid", tostring(math.random(1, 1e9)))
end

function request()
  counter = counter + 1
  local id = prefix .. "-" .. (tid or "0") .. "-" .. counter
  local amount = (counter % 2 == 1) and "1299.0" or "499.0"
  local body = '{"type":"order.created","source":"bench","event_id":"' .. id ..
    '","order":{"id":"B' .. id .. '","status":"pending","amount":' .. amount .. ',"channel":"douyin"}}'
  return wrk.format(nil, nil, nil, body)
end

function done(summary, latency, requests)
  io.write(string.format("WRK requests=%d duration_s=%.3f errors=%d non2xx=%d p50_ms=%.1f p99_ms=%.1f\n",
    summary.requests, summary.duration / 1e6,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
