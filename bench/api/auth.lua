-- wrk script for bench/api: every request carries the bench user's access token.
wrk.headers["Authorization"] = "Bearer " .. os.getenv("FERRY_TOKEN")
