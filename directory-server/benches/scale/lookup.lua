-- wrk: GET /clients/{username} of a random seeded user (user0000001 ... userN), with the
-- bench user's token. Environment: USERS (how many were seeded), TOKEN.
local users = tonumber(os.getenv("USERS"))
local headers = { ["Authorization"] = "Bearer " .. os.getenv("TOKEN") }

function init(args)
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
end

function request()
  return wrk.format("GET", string.format("/clients/user%07d", math.random(1, users)), headers)
end
