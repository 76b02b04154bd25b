-- bench/lua/post.lua: the same POST with a JSON body on every request.
--   wrk ... -s bench/lua/post.lua URL -- BODY
local req
function init(args)
	req = wrk.format("POST", nil, { ["Content-Type"] = "application/json" }, args[1])
end
function request()
	return req
end
