-- wrk scenario: variant playlists of many distinct viewers' reels, cycling through a file of
-- variant paths (one per line, e.g. /sizzle/v/TOKEN/540p.m3u8) named by SIZZLE_WRK_PATHS;
-- benchmarks/side_by_side.py writes it from real masters.
-- SIZZLE_WRK_PATHS=paths.txt wrk -t1 -c64 -d10s --latency -s loadtest/wrk/variant.lua http://127.0.0.1:8080
local paths = {}
local counter = 0

init = function(args)
  local name = os.getenv("SIZZLE_WRK_PATHS")
  if not name then
    error("set SIZZLE_WRK_PATHS to a file of variant paths")
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
-- wrk itself counts non-2xx answers ("Non-2xx or 3xx responses"); the benchmark fails on any.
