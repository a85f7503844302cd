-- wrk script of the payments scenario: POST /payment/transactions as many users.
-- BENCH_TOKENS names a file with one JWT per line; requests go round-robin over them,
-- each a small amount so no user comes near the 1000 limit.
local tokens = {}
for line in io.lines(os.getenv("BENCH_TOKENS")) do
    tokens[#tokens + 1] = line
end
local counter = 0
local body = '{"amount": 0.01, "description": "bench"}'

request = function()
    counter = counter + 1
    local token = tokens[(counter % #tokens) + 1]
    return wrk.format("POST", "/payment/transactions", {
        ["Authorization"] = "Bearer " .. token,
        ["Content-Type"] = "application/json",
    }, body)
end
