# Integration-test harness: a throwaway PostgreSQL 15 cluster (initdb into a temp dir, server run as the
# postgres user when we are root, loopback only), the built pgkb binaries, and assertions that count
# "N passed, M failed". Source it from tests/integration/t_*.sh.
set -uo pipefail

: "${PGKB_BIN_DIR:?set PGKB_BIN_DIR to the build directory}"
: "${PGKB_SRC_DIR:?set PGKB_SRC_DIR to the source directory}"
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
PGKB=$PGKB_BIN_DIR/pgkb
SUPERVISOR=$PGKB_BIN_DIR/pgkb-supervisor
export PGKB_SCHEMA_DIR=$PGKB_SRC_DIR/schema
. "$(dirname "${BASH_SOURCE[0]}")/../lib/servers.sh"

T_PASS=0
T_FAIL=0
T_DIR=$(mktemp -d /tmp/pgkb-test.XXXXXX)
chmod 755 "$T_DIR"
T_PIDS=()

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*"; }

pass() { T_PASS=$((T_PASS + 1)); printf 'ok   %s\n' "$1"; }
fail() { T_FAIL=$((T_FAIL + 1)); printf 'FAIL %s\n' "$1"; }

# assert_eq ACTUAL EXPECTED DESCRIPTION
assert_eq() {
	if [ "$1" = "$2" ]; then pass "$3"; else fail "$3 (got '$1', expected '$2')"; fi
}
# assert_ge ACTUAL MIN DESCRIPTION
assert_ge() {
	if [ "$1" -ge "$2" ] 2>/dev/null; then pass "$3"; else fail "$3 (got '$1', expected >= $2)"; fi
}
# assert_match TEXT REGEX DESCRIPTION
assert_match() {
	if printf '%s' "$1" | grep -Eq -- "$2"; then pass "$3"; else fail "$3 (no match for /$2/ in: $(printf '%s' "$1" | head -c 600))"; fi
}

as_pg() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# pg_start: a fresh cluster with database pgkb_test; exports PGHOST/PGPORT/PGUSER/PGDATABASE.
pg_start() {
	PGDATA_DIR=$T_DIR/pgdata
	mkdir -p "$PGDATA_DIR"
	[ "$(id -u)" = 0 ] && chown postgres: "$PGDATA_DIR" "$T_DIR"
	chmod 700 "$PGDATA_DIR"
	as_pg "$PGBIN/initdb" -D "$PGDATA_DIR" -A trust -U postgres -E UTF8 --locale=C.UTF-8 --no-sync \
		>"$T_DIR/initdb.log" 2>&1 || { cat "$T_DIR/initdb.log"; exit 1; }
	export PGHOST=127.0.0.1 PGUSER=postgres PGDATABASE=pgkb_test
	# Another test run may take the port between the check and the bind: try a few.
	local tries
	for tries in 1 2 3 4 5; do
		export PGPORT=$(free_port)
		pg_ctl_start 2>/dev/null && break
		[ "$tries" = 5 ] && { tail -5 "$T_DIR/server.log"; exit 1; }
	done
	as_pg "$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U postgres pgkb_test
}

pg_ctl_start() {
	as_pg "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -l "$T_DIR/server.log" -w -t 60 \
		-o "-p $PGPORT -k $PGDATA_DIR -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off ${PG_TEST_OPTS:-}" \
		start >/dev/null
}

pg_restart() {
	as_pg "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -m immediate -w stop >/dev/null
	pg_ctl_start
}

sql() { psql -qAtX -v ON_ERROR_STOP=1 -c "$1"; }

# wait_for SQL-returning-t TIMEOUT_S DESCRIPTION: polls until the query returns t; fails the check if not.
wait_for() {
	local deadline=$(( $(date +%s) + $2 ))
	while [ "$(date +%s)" -lt "$deadline" ]; do
		[ "$(sql "$1" 2>/dev/null)" = t ] && return 0
		sleep 0.1
	done
	fail "timed out after $2 s waiting for: $3"
	return 1
}

migrate() { "$PGKB" migrate >"$T_DIR/migrate.log" 2>&1 || { cat "$T_DIR/migrate.log"; fail "migrate"; exit 1; }; }

# nginx_serve DIR PORT: a private nginx serving DIR on 127.0.0.1:PORT (access log "$msec $status $uri" in
# $T_DIR/nginx/access.log), stopped by cleanup. Returns 1 when it does not come up (the port was taken).
nginx_serve() {
	nginx_conf "$1" "$2" "$T_DIR/nginx" "$T_DIR/nginx/access.log"
	/usr/sbin/nginx -e "$T_DIR/nginx/error.log" -p "$T_DIR/nginx" -c "$T_DIR/nginx/nginx.conf" &
	T_PIDS+=("$!")
	wait_port "$2" "$!"
}

# crawl_server_start: tests/integration/crawl_server.py (a server that misbehaves on request) on a free port;
# sets PORT and BASE.
crawl_server_start() {
	local tries
	for tries in 1 2 3 4 5; do
		PORT=$(free_port)
		python3 "$(dirname "${BASH_SOURCE[0]}")/crawl_server.py" "$PORT" 2>"$T_DIR/server.log" &
		T_PIDS+=("$!")
		wait_port "$PORT" "$!" && break
		[ "$tries" = 5 ] && { fail "crawl_server.py did not start"; cat "$T_DIR/server.log"; exit 1; }
	done
	BASE=http://127.0.0.1:$PORT
}

# write_config FILE [extra YAML]: a test config with short leases and timers.
write_config() {
	cat >"$1" <<EOF
log:
  level: ${LOG_LEVEL:-info}
queue:
  lease: ${LEASE:-5s}
  poll_interval: 500ms
  drain_timeout: ${DRAIN:-10s}
supervisor:
  restart_delay_min: 200ms
  restart_delay_max: 2s
EOF
	[ $# -gt 1 ] && printf '%s\n' "$2" >>"$1"
	return 0
}

# sup_start CONFIG NAME: starts a supervisor in the background; its pid in SUP_PID, log in $T_DIR/NAME.log.
sup_start() {
	${SUP_WRAPPER:-} "$SUPERVISOR" -c "$1" >"$T_DIR/$2.log" 2>&1 &
	SUP_PID=$!
	T_PIDS+=("$SUP_PID")
}

# worker_pids SUPERVISOR_PID: the live worker children of a supervisor.
worker_pids() { pgrep -P "$1" | sort -n | tr '\n' ' '; }

cleanup() {
	# Parent first, then the children listed before: a parent killed second (nginx's master, a supervisor)
	# could replace its children meanwhile, and an orphan would keep ctest's output pipe open.
	local kids
	for p in "${T_PIDS[@]}"; do
		kids=$(pgrep -P "$p" 2>/dev/null | tr '\n' ' ')
		kill -KILL "$p" 2>/dev/null
		[ -n "$kids" ] && kill -KILL $kids 2>/dev/null
	done
	if [ -n "${PGDATA_DIR:-}" ] && [ -f "$PGDATA_DIR/postmaster.pid" ]; then
		as_pg "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -m immediate -w stop >/dev/null 2>&1
	fi
	if [ "$T_FAIL" -gt 0 ] || [ -n "${KEEP_TEST_DIR:-}" ]; then
		for f in "$T_DIR"/*.log; do
			[ -f "$f" ] || continue
			echo "---- $(basename "$f") (last 40 lines)"
			tail -n 40 "$f"
		done
	fi
	[ -z "${KEEP_TEST_DIR:-}" ] && rm -rf "$T_DIR"
}
trap cleanup EXIT

finish() {
	# A sanitizer report in any process's log (workers log to their supervisor's) fails the test.
	local reports
	reports=$(grep -lE "AddressSanitizer|LeakSanitizer|runtime error:" "$T_DIR"/*.log 2>/dev/null || true)
	if [ -n "$reports" ]; then fail "sanitizer reports in: $reports"; else pass "no sanitizer reports"; fi
	echo "$T_PASS passed, $T_FAIL failed"
	[ "$T_FAIL" -eq 0 ]
	exit $?
}
