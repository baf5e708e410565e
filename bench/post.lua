-- wrk script for bench/run.sh: every request is
--   POST /v1/chat/completions   (the path comes from the URL given to wrk)
--   Authorization: Bearer $LINGMO_BENCH_KEY
--   {"model":"fake-model","messages":[{"role":"user","content":"Say hello in one word."}]}
-- a small non-stream chat completion. The same script, key and body go to the gateway and to
-- the proxy_pass baseline (which swaps the Authorization header for the vendor key itself).
--
-- done() prints one machine-readable line that run.sh parses instead of wrk's human output:
--   BENCH requests=N duration_us=N p50_us=N ... non2xx=N connect=N read=N write=N timeout=N
-- non2xx is wrk's summary.errors.status: responses with a status >= 400.

local key = os.getenv("LINGMO_BENCH_KEY") or "missing-LINGMO_BENCH_KEY"

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. key
wrk.body = '{"model":"fake-model","messages":[{"role":"user","content":"Say hello in one word."}]}'

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d bytes=%d p50_us=%d p90_us=%d p99_us=%d mean_us=%.1f max_us=%d " ..
    "non2xx=%d connect=%d read=%d write=%d timeout=%d\n",
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean, latency.max,
    e.status, e.connect, e.read, e.write, e.timeout))
end
