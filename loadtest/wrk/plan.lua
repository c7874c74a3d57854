-- wrk scenario: every request is a new viewer's plan.json.
-- wrk -t1 -c64 -d10s --latency -s loadtest/wrk/plan.lua http://127.0.0.1:8080
local counter = 0
local prefix = os.getenv("SIZZLE_WRK_PREFIX") or "p"

request = function()
  counter = counter + 1
  return wrk.format("GET", "/sizzle/" .. prefix .. counter .. "/plan.json")
end
-- wrk itself counts non-2xx answers ("Non-2xx or 3xx responses"); the benchmark fails on any.
