#!/usr/bin/env bash
# Health probes beside /metrics (cmd/supervisor/sup_health.c): /healthz answers 200 while the process is up;
# /readyz answers 200 only when the database is reachable, has this binary's latest migration and the
# configured workers run, else 503 with a one-line reason: on an unmigrated database, with the server stopped,
# with a worker missing; back to 200 each time the cause goes. pgkb-supervisor --health live|ready (the
# Dockerfile's HEALTHCHECK) says the same through its exit code.
. "$(dirname "$0")/lib.sh"
pg_start
MPORT=$(free_port)
write_config "$T_DIR/h.yaml" "workers:
  noop: {processes: 2, concurrency: 4}
  ingest: {processes: 0}
  crawl: {processes: 0}
  embed: {processes: 0}"
export PGKB_SUPERVISOR_METRICS_LISTEN=127.0.0.1:$MPORT
# a schema directory of the test's own, to play a binary newer than the database below
cp -r "$PGKB_SCHEMA_DIR" "$T_DIR/schema"
export PGKB_SCHEMA_DIR=$T_DIR/schema

# raw PATH: the whole answer to one request to the metrics port ("" when nothing answers).
raw() {
	exec 3<>"/dev/tcp/127.0.0.1/$MPORT" 2>/dev/null || return 0
	printf 'GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n' "$1" >&3
	timeout 15 cat <&3 | tr -d '\r'
	exec 3<&-
}
# get PATH: "CODE FIRST-BODY-LINE".
get() { raw "$1" | awk 'NR == 1 { code = $2 } body { print code, $0; exit } /^$/ { body = 1 }'; }
# wait_get PATH REGEX SECONDS: polls until the answer matches; prints the last answer.
wait_get() {
	local deadline=$(( $(date +%s) + $3 )) r=""
	while [ "$(date +%s)" -lt "$deadline" ]; do
		r=$(get "$1")
		printf '%s' "$r" | grep -Eq -- "$2" && break
		sleep 0.3
	done
	printf '%s' "$r"
}

sup_start "$T_DIR/h.yaml" sup
assert_match "$(wait_get /healthz '^200' 20)" '^200 ok$' "/healthz: 200 while the supervisor runs"
r=$(wait_get /readyz '^503' 20)
assert_match "$r" '^503 schema: not migrated \(run pgkb migrate\)' "/readyz on an unmigrated database: 503, says why ($r)"
"$SUPERVISOR" -c "$T_DIR/h.yaml" --health ready >"$T_DIR/probe.out" 2>&1
assert_eq "$?" "1" "--health ready exits 1 while not ready"
assert_match "$(cat "$T_DIR/probe.out")" 'not migrated' "... and prints the reason"
"$SUPERVISOR" -c "$T_DIR/h.yaml" --health live >/dev/null 2>&1
assert_eq "$?" "0" "--health live exits 0"

migrate
r=$(wait_get /readyz '^200' 30)
assert_eq "$r" "200 ready" "/readyz after pgkb migrate: 200"
"$SUPERVISOR" -c "$T_DIR/h.yaml" --health ready >/dev/null 2>&1
assert_eq "$?" "0" "--health ready exits 0 when ready"

# a binary newer than its database: its schema directory has a migration the database lacks
printf -- '-- a migration this test adds\nSELECT 1;\n' >"$T_DIR/schema/999_health_newer.sql"
r=$(wait_get /readyz '^503' 10)
assert_match "$r" '^503 schema: migration 999_health_newer not applied \(run pgkb migrate\)' \
	"/readyz with a migration pending: 503 ($r)"
migrate
assert_eq "$(wait_get /readyz '^200' 10)" "200 ready" "... 200 again after pgkb migrate"

# a worker missing: killed while its supervisor is stopped (so that it is neither reaped nor replaced)
victim=$(raw /metrics | grep -o 'pgkb_worker_jobs_running{worker_kind="noop",pid="[0-9]*"' | head -1 | grep -o '[0-9]*"$' | tr -d '"')
kill -STOP "$SUP_PID"
kill -KILL "$victim"
r=$(wait_get /readyz '^503' 10)
kill -CONT "$SUP_PID"
assert_match "$r" '^503 workers: 1 of 2 running$' "/readyz with a worker gone: 503 ($r)"
assert_eq "$(wait_get /readyz '^200' 20)" "200 ready" "/readyz: 200 again once the worker is replaced"

# the database stopped: /readyz 503 (the reason names the database), /healthz still 200
as_pg "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -m fast -w stop >/dev/null
r=$(wait_get /readyz '^503' 20)
assert_match "$r" '^503 database: unreachable' "/readyz with the database stopped: 503 ($r)"
assert_match "$(get /healthz)" '^200 ok$' "/healthz stays 200 (the process is up)"
pg_ctl_start
assert_eq "$(wait_get /readyz '^200' 30)" "200 ready" "/readyz back to 200 when the database returns"
assert_match "$(get /readyz?verbose=1)" '^200' "a query string is ignored"

kill -TERM "$SUP_PID"; wait "$SUP_PID"

# the container image and compose use the probe
assert_match "$(grep '^HEALTHCHECK' "$PGKB_SRC_DIR/deploy/Dockerfile")" 'CMD \["pgkb-supervisor", "--health", "ready"\]' \
	"the Dockerfile's HEALTHCHECK asks /readyz"
assert_match "$(cat "$PGKB_SRC_DIR/deploy/compose.yaml")" 'test: \["CMD", "pgkb-supervisor", "--health", "ready"\]' \
	"compose's worker healthcheck asks /readyz"
finish
