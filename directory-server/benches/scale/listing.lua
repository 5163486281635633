-- wrk: GET /clients?after=...&limit=100, a page of 100 users after a random seeded one.
-- Environment: USERS, TOKEN.
local users = tonumber(os.getenv("USERS"))
local headers = { ["Authorization"] = "Bearer " .. os.getenv("TOKEN") }

function init(args)
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
end

function request()
  local after = string.format("user%07d", math.random(1, users - 100))
  return wrk.format("GET", "/clients?limit=100&after=" .. after, headers)
end
