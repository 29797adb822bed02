-- Scenario D: POST /login without a cookie, a valid login that creates a session each time.
wrk.method = "POST"
wrk.body = "username=bench&password=bench-password"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
