# shellcheck shell=bash
# A fresh local stack for the browser benches (bench/first-load, bench/zip-download), sourced by
# their run.sh: `ferry serve` on free loopback ports with a fresh data directory and the release
# site, a signed-up user, and presigned uploads as the app makes them. The caller sets `tmp`
# (a scratch directory it owns) and `bench` (its name, for messages) before sourcing; the EXIT
# trap set here stops the server and removes `tmp`.
#
#   stack_start SITE BIN [VAR=value …]   start the server (extra environment for it); sets
#                                        `url` and `server`
#   stack_sign_in PREFIX                 sign up and in a fresh user; sets `token`
#   api PATH [curl args …]               the API as that user
#   stack_upload FILE BODY               one presigned PUT of FILE for the upload BODY (JSON
#                                        without `size`, added here); prints the file's id
#   stack_wait_ready ID …                until every file is `ready` (fails after a minute each)

server=""
stack_cleanup() {
  if [[ -n "$server" ]] && kill -0 "$server" 2>/dev/null; then
    kill -INT "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap stack_cleanup EXIT

stack_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

stack_start() {
  local site="$1" bin="$2" port s3_port
  shift 2
  port="$(stack_free_port)"
  s3_port="$(stack_free_port)"
  while [[ "$s3_port" == "$port" ]]; do s3_port="$(stack_free_port)"; done
  url="http://127.0.0.1:$port"
  env "$@" RUST_LOG="${RUST_LOG:-warn}" "$bin" serve --port "$port" --s3-port "$s3_port" \
    --data-dir "$tmp/data" --site-dir "$site" >"$tmp/ferry.log" 2>&1 &
  server=$!
  for _ in $(seq 1 150); do
    curl -fsS "$url/api/health" >/dev/null 2>&1 && return 0
    kill -0 "$server" 2>/dev/null || { cat "$tmp/ferry.log" >&2; exit 1; }
    sleep 0.2
  done
  echo "$bench: ferry serve did not start" >&2
  cat "$tmp/ferry.log" >&2
  exit 1
}

stack_sign_in() {
  local config cognito client_id email password
  config="$(curl -fsS "$url/config.json")"
  cognito="$(jq -r '.cognito_endpoint' <<<"$config")"
  client_id="$(jq -r '.client_id' <<<"$config")"
  [[ "$cognito" == http* ]] || cognito="$url${cognito}"
  email="$1-$RANDOM$RANDOM@example.com"
  password="bench-Passw0rd-$RANDOM"
  idp() {
    curl -fsS "$cognito" -H "Content-Type: application/x-amz-json-1.1" \
      -H "X-Amz-Target: AWSCognitoIdentityProviderService.$1" -d "$2"
  }
  idp SignUp "$(jq -nc --arg c "$client_id" --arg u "$email" --arg p "$password" \
    '{ClientId:$c, Username:$u, Password:$p, UserAttributes:[{Name:"email", Value:$u}]}')" >/dev/null
  token="$(idp InitiateAuth "$(jq -nc --arg c "$client_id" --arg u "$email" --arg p "$password" \
    '{ClientId:$c, AuthFlow:"USER_PASSWORD_AUTH", AuthParameters:{USERNAME:$u, PASSWORD:$p}}')" \
    | jq -r '.AuthenticationResult.AccessToken')"
}

api() { curl -fsS "$url$1" -H "Authorization: Bearer $token" -H "Content-Type: application/json" "${@:2}"; }

stack_upload() {
  local size ticket put
  size="$(stat -c %s "$1")"
  ticket="$(api /api/uploads -d "$(jq -c --argjson s "$size" '. + {size: $s}' <<<"$2")")"
  put=(curl -fsS -X PUT -H "Expect:" -T "$1" "$(jq -r '.upload.url' <<<"$ticket")")
  while IFS= read -r h; do put+=(-H "$h"); done < <(jq -r \
    '.upload.headers[] | select(.name|ascii_downcase != "content-length") | "\(.name): \(.value)"' <<<"$ticket")
  "${put[@]}" >/dev/null
  jq -r '.file.id' <<<"$ticket"
}

stack_wait_ready() {
  local id status
  for id in "$@"; do
    status=""
    for _ in $(seq 1 300); do
      status="$(api "/api/files/$id" | jq -r '.status')"
      [[ "$status" == "ready" ]] && break
      sleep 0.2
    done
    [[ "$status" == "ready" ]] || { echo "$bench: file $id is $status, not ready" >&2; exit 1; }
  done
}
