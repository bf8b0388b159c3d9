-- wrk script for the benchmark (bench/load.py): POST a JSON body read from a file.
--   wrk -t1 -cC -dDs --latency -s bench/wrk_post.lua URL -- BODY_FILE API_KEY
-- No response() callback: wrk counts non-2xx answers itself, and a Lua callback per response would
-- cost the generator time.
local request_data

function init(args)
  local fh = assert(io.open(args[1], "rb"))
  local body = fh:read("*a")
  fh:close()
  local headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. args[2],
  }
  request_data = wrk.format("POST", nil, headers, body)
end

function request()
  return request_data
end
