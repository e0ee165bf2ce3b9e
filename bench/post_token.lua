-- wrk script: POST the client-credentials form to the token endpoint.
-- BENCH_BODY holds the urlencoded form (grant_type, client_id, client_secret).
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "wrk_report.lua")

wrk.method = "POST"
wrk.body = assert(os.getenv("BENCH_BODY"), "BENCH_BODY is not set")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
