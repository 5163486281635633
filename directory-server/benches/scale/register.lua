-- wrk: POST /register with a new username each time (a registration storm). Each thread
-- draws a random prefix, then counts.
local key = string.rep("ab", 32)
local prefix
local count = 0

function init(args)
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
  prefix = string.format("s%08x", math.random(0, 0x7fffffff))
end

function request()
  count = count + 1
  local body = string.format(
    '{"username":"%s%d","password":"correct horse battery","host":"192.0.2.1",'
      .. '"port":40000,"public_key":"%s"}', prefix, count, key)
  return wrk.format("POST", "/register", { ["Content-Type"] = "application/json" }, body)
end
