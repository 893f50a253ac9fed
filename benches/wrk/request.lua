-- One request, repeated: method, body and bearer token come from the environment
-- (WRK_METHOD, default GET; WRK_BODY, sent as application/json; WRK_TOKEN).
-- wrk counts the answers that are not 2xx/3xx itself ("Non-2xx or 3xx responses"),
-- which benches/requests.sh reads; it checks each GraphQL answer's `data` with curl.
local method = os.getenv("WRK_METHOD")
local body = os.getenv("WRK_BODY")
local token = os.getenv("WRK_TOKEN")

wrk.method = (method and method ~= "") and method or "GET"
if body and body ~= "" then
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
end
if token and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end
