-- wrk scenario: cycle through a file of request paths (one per line) named by SIZZLE_WRK_PATHS:
-- variant playlists of many distinct reels (/sizzle/v/TOKEN/540p.m3u8, benchmarks/side_by_side.py)
-- or media segments (/sizzle/media/VERSION/540p/s00012.m4s or .../s00012.t1200.m4s).
-- When SIZZLE_WRK_SUMMARY names a file, done() writes "requests bytes duration_us" to it, so a
-- caller can compute MB/s of what was actually received (benchmarks/retime_serving.py).
-- SIZZLE_WRK_PATHS=paths.txt wrk -t1 -c64 -d10s --latency -s loadtest/wrk/paths.lua http://127.0.0.1:8080
local paths = {}
local counter = 0

init = function(args)
  local name = os.getenv("SIZZLE_WRK_PATHS")
  if not name then
    error("set SIZZLE_WRK_PATHS to a file of request paths")
  end
  for line in io.lines(name) do
    if #line > 0 then
      paths[#paths + 1] = line
    end
  end
  if #paths == 0 then
    error(name .. " holds no paths")
  end
end

request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter % #paths) + 1])
end

done = function(summary, latency, requests)
  local name = os.getenv("SIZZLE_WRK_SUMMARY")
  if name then
    local out = assert(io.open(name, "w"))
    out:write(string.format("%d %d %d\n", summary.requests, summary.bytes, summary.duration))
    out:close()
  end
end
