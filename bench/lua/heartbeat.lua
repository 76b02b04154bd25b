-- bench/lua/heartbeat.lua: POST /v1/activations/{id}/heartbeat {"key":...}
-- rotating over every line "ACTIVATION_ID LICENSE_KEY" of FILE (made by
-- scripts/bench.sh in random order); each wrk thread starts at its own
-- place in the rotation.
--   wrk ... -s bench/lua/heartbeat.lua URL -- FILE
local paths, bodies, i = {}, {}, 0
local headers = { ["Content-Type"] = "application/json" }
local n = 0
function setup(thread)
	n = n + 1
	thread:set("tid", n)
end
function init(args)
	for line in io.lines(args[1]) do
		local id, key = line:match("^(%S+) (%S+)$")
		if id then
			paths[#paths + 1] = "/v1/activations/" .. id .. "/heartbeat"
			bodies[#bodies + 1] = '{"key":"' .. key .. '"}'
		end
	end
	i = math.floor(#paths * ((tid or 1) - 1) / 2)
end
function request()
	i = i % #paths + 1
	return wrk.format("POST", paths[i], headers, bodies[i])
end
