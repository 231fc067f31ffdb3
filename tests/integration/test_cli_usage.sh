#!/usr/bin/env bash
# integration: parallel
# The command line itself (SPEC §1): every command's -h/--help prints its usage on stdout and
# exits 0; an unknown argument or a flag without its value is a usage error: exit 2, nothing on
# stdout, "rampart CMD: what was wrong" then the usage on stderr. The flag forms CLI11 gives every
# command (--flag value, --flag=value, -x value, -xvalue, comma lists, a repeated flag keeps its
# last value) parse to the same result. No network: only the binary and files in $TDIR.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
rpt_init

# run ARGS...: `rampart ARGS`, stdout to $TDIR/out, stderr to $TDIR/err; prints the exit status.
run() {
  set +e
  env -u RAMPART_API_TOKEN -u RAMPART_API_URL "$RAMPART_BIN" "$@" >"$TDIR/out" 2>"$TDIR/err"
  local rc=$?
  set -e
  echo "$rc"
}

# help_ok ARGS...: exit 0, the usage on stdout, nothing on stderr.
help_ok() {
  assert_eq "rampart $*: exit 0" 0 "$(run "$@")"
  check "rampart $*: usage on stdout" grep -q '^usage: rampart' "$TDIR/out"
  check "rampart $*: nothing on stderr" test ! -s "$TDIR/err"
}

# usage_error MESSAGE ARGS...: exit 2, nothing on stdout, stderr starts with MESSAGE (a grep -E
# pattern) and shows the usage.
usage_error() {
  local want=$1
  shift
  assert_eq "rampart $*: exit 2" 2 "$(run "$@")"
  check "rampart $*: says '$want'" grep -Eq "^$want" <(head -n 1 "$TDIR/err")
  check "rampart $*: shows the usage" grep -q 'usage: rampart' "$TDIR/err"
  check "rampart $*: nothing on stdout" test ! -s "$TDIR/out"
}

# ---------------------------------------------------------------- rampart itself
usage_error 'usage: rampart <command>' # no command
usage_error "rampart: unknown command 'frobnicate'" frobnicate
help_ok --help
help_ok help
assert_eq "rampart version: exit 0" 0 "$(run version)"
check "rampart version prints the version" grep -Eq '^rampart [0-9]+\.[0-9]+' "$TDIR/out"

# ---------------------------------------------------------------- help for every command
for cmd in serve check lockdown top edges apps; do
  help_ok "$cmd" --help
  help_ok "$cmd" -h
done

# ---------------------------------------------------------------- unknown arguments
for cmd in serve check lockdown top edges; do
  usage_error "rampart $cmd: unknown argument '--bogus'" "$cmd" --bogus
done
usage_error "rampart check: unknown argument '--bogus'" check -c "$TDIR/x.yaml" --bogus
usage_error "rampart lockdown: unknown argument 'stray'" lockdown --edge-ip 192.0.2.1 --port 22 stray
usage_error 'rampart apps: unknown flag "--bogus"' apps list --bogus
usage_error 'rampart apps: unknown action' apps --bogus

# ---------------------------------------------------------------- a flag without its value
usage_error 'rampart serve: --config needs a value' serve --config
usage_error 'rampart check: --config needs a value' check -c
usage_error 'rampart lockdown: --edge-ip needs a value' lockdown --edge-ip
usage_error 'rampart lockdown: --port needs a value' lockdown --edge-ip 192.0.2.1 -p
usage_error 'rampart top: --interval needs a value' top --interval
usage_error 'rampart edges: --api needs a value' edges --api
usage_error 'rampart apps: --api needs a value' apps list --api

# ---------------------------------------------------------------- required flags and values
usage_error 'rampart serve: missing -c FILE' serve
usage_error 'rampart check: missing -c FILE' check
usage_error 'rampart top: --interval: "0" is not a whole number' top --interval 0
usage_error 'rampart top: --interval: "61" is not a whole number' top --interval=61
assert_eq "rampart edges -o yaml: exit 2" 2 "$(run edges -o yaml --token t)"
check "rampart edges -o yaml: says what -o takes" grep -q 'expected table or json' "$TDIR/err"
assert_eq "rampart lockdown --format pf: exit 2" 2 "$(run lockdown --format pf --edge-ip 192.0.2.1 --port 22)"

# ---------------------------------------------------------------- flag forms
# A valid config: check accepts it under every spelling of -c; the last of two -c wins.
cat >"$TDIR/ok.yaml" <<YAML
edge:
  colo: TEST
  egress_ips: ["192.0.2.10", "2001:db8::10"]
api:
  token: cli-usage-token-0123456789
apps:
  - id: ssh
    protocol: tcp/22
    origin_direct: ["tcp://192.0.2.50:22"]
YAML
printf 'edge: [\n' >"$TDIR/bad.yaml"
for form in "-c $TDIR/ok.yaml" "--config $TDIR/ok.yaml" "--config=$TDIR/ok.yaml" "-c$TDIR/ok.yaml" \
  "-c $TDIR/bad.yaml -c $TDIR/ok.yaml"; do
  # shellcheck disable=SC2086  # the form is split into its words on purpose
  assert_eq "rampart check $form: exit 0" 0 "$(run check $form)"
  check "rampart check $form: OK" grep -q "ok.yaml: OK (1 apps)" "$TDIR/out"
done
assert_eq "rampart check of an invalid config: exit 1" 1 "$(run check -c "$TDIR/bad.yaml")"

# lockdown: the same rules from every spelling of the same flags. The comment lines repeat the
# command line, so only the rules are compared.
# lockdown_rules NAME ARGS...: `rampart lockdown ARGS` must exit 0; its rules to $TDIR/NAME.
lockdown_rules() {
  local name=$1
  shift
  assert_eq "rampart lockdown $*: exit 0" 0 "$(run lockdown "$@")"
  grep -v '^#' "$TDIR/out" >"$TDIR/$name"
}
lockdown_rules want --format nftables --edge-ip 192.0.2.10 --port 22 --port 80,443
check "lockdown prints a ruleset with the three ports" grep -q 'elements = { 22, 80, 443 }' "$TDIR/want"
n=0
for form in "-f nftables --edge-ip=192.0.2.10 -p 22 -p80,443" \
  "--format=iptables --format=nftables --edge-ip 192.0.2.10 --port=22,80 --port 443" \
  "--edge-ip 192.0.2.10 -p 22,80,443"; do
  n=$((n + 1))
  # shellcheck disable=SC2086  # the form is split into its words on purpose
  lockdown_rules "form$n" $form
  check "lockdown $form: the same rules" cmp -s "$TDIR/want" "$TDIR/form$n"
done
# -c takes the addresses and ports from the config (edge.egress_ips, the apps' origin ports).
lockdown_rules from-config -c "$TDIR/ok.yaml"
check "lockdown -c FILE: the config's egress addresses" grep -q 'elements = { 192.0.2.10 }' "$TDIR/from-config"
check "lockdown -c FILE: the app's origin port" grep -q 'elements = { 22 }' "$TDIR/from-config"

# top and edges read the API from flags in every form; nothing listens on port 9 (exit 3 =
# the flags parsed and the command got as far as connecting).
assert_eq "rampart top --once --api=URL --token T: exit 3 (unreachable)" 3 \
  "$(run top --once --api=http://127.0.0.1:9 --token t --interval=5)"
check "rampart top: names the API it tried" grep -q 'http://127.0.0.1:9' "$TDIR/err"
assert_eq "rampart edges --api URL --token=T -o json: exit 3 (unreachable)" 3 \
  "$(run edges --api http://127.0.0.1:9 --token=t -o json)"
assert_eq "rampart edges without a token: exit 2" 2 "$(run edges --api http://127.0.0.1:9)"
check "rampart edges without a token: says how to pass one" grep -q 'RAMPART_API_TOKEN' "$TDIR/err"

rpt_finish
