#!/usr/bin/env bash
# Writes the SPA's /config.json (ferry_api::SiteConfig) from a deployed stack's outputs.
#
#   infra/write-config.sh STACK_NAME [OUTPUT_FILE]      (default OUTPUT_FILE: dist/config.json)
#
# Reads the outputs with `aws cloudformation describe-stacks` (credentials and region from the
# environment), or, when FERRY_STACK_OUTPUTS_FILE is set, from that file (the JSON list that
# `describe-stacks --query 'Stacks[0].Outputs'` prints), which lets it run offline.
set -euo pipefail

stack="${1:?usage: infra/write-config.sh STACK_NAME [OUTPUT_FILE]}"
out="${2:-dist/config.json}"

if [[ -n "${FERRY_STACK_OUTPUTS_FILE:-}" ]]; then
  outputs="$(cat "$FERRY_STACK_OUTPUTS_FILE")"
else
  outputs="$(aws cloudformation describe-stacks --stack-name "$stack" \
    --query 'Stacks[0].Outputs' --output json)"
fi

mkdir -p "$(dirname "$out")"
STACK_OUTPUTS="$outputs" python3 - "$out" <<'PY'
import json, os, sys

outputs = {o["OutputKey"]: o["OutputValue"] for o in json.loads(os.environ["STACK_OUTPUTS"]) or []}
needed = ["SiteUrl", "Region", "UserPoolId", "UserPoolClientId", "HostedUiDomain"]
missing = [k for k in needed if not outputs.get(k)]
if missing:
    sys.exit(f"write-config: stack outputs lack {', '.join(missing)}")

site = outputs["SiteUrl"].rstrip("/")
config = {
    # Same origin: CloudFront routes /api/* to the HTTP API.
    "api_base": "/api",
    "cognito_region": outputs["Region"],
    "user_pool_id": outputs["UserPoolId"],
    "client_id": outputs["UserPoolClientId"],
    "auth_base": outputs["HostedUiDomain"].rstrip("/"),
    # Both must be listed on the user pool client (the template adds them).
    "redirect_uri": f"{site}/callback",
    "logout_uri": f"{site}/",
}
# The operator's default for "Encrypt end to end" (the EncryptByDefault parameter).
if outputs.get("EncryptByDefault") == "true":
    config["encrypt_by_default"] = True
# Live updates: the WebSocket API on the same origin (CloudFront's /live behaviour).
if outputs.get("LiveUrl"):
    config["live_url"] = "/live"
with open(sys.argv[1], "w", encoding="utf-8") as f:
    json.dump(config, f, indent=2)
    f.write("\n")
print(f"write-config: wrote {sys.argv[1]} for {site}")
PY
