-- bench/lua/activation.lua: POST /v1/activations with a new fingerprint on
-- every request, rotating over every line "LICENSE_KEY PRODUCT_ID" of FILE
-- (licenses with room: every request makes a new activation).
--   wrk ... -s bench/lua/activation.lua URL -- FILE
local keys, products, i, n = {}, {}, 0, 0
local prefix
local headers = { ["Content-Type"] = "application/json" }
local threads = 0
function setup(thread)
	threads = threads + 1
	thread:set("tid", threads)
end
function init(args)
	for line in io.lines(args[1]) do
		local key, product = line:match("^(%S+) (%S+)$")
		if key then
			keys[#keys + 1] = key
			products[#products + 1] = product
		end
	end
	prefix = string.format("wrk-%d-%d", os.time(), tid or 0)
	i = math.floor(#keys * ((tid or 1) - 1) / 2)
end
function request()
	i = i % #keys + 1
	n = n + 1
	return wrk.format("POST", "/v1/activations", headers, string.format(
		'{"key":"%s","productId":"%s","fingerprint":"%s-%d","hostname":"bench","os":"linux"}',
		keys[i], products[i], prefix, n))
end
