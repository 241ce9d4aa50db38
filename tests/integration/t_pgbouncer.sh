#!/usr/bin/env bash
# Connection poolers (cmd/supervisor/sup_pooler.c): pgkb through PgBouncer in session mode works end to end
# (workers claim over it, LISTEN wakeups arrive, ingest and noop jobs complete, the CLI enqueues through it);
# through PgBouncer in transaction mode, or statement mode, the supervisor refuses at start with exit code 2
# and a message that names the mode and what to use instead (session mode or the direct port).
. "$(dirname "$0")/lib.sh"
PGBOUNCER=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)
[ -x "$PGBOUNCER" ] || { fail "pgbouncer is not installed (apt-get install pgbouncer)"; finish; }
pg_start
migrate

# One PgBouncer, three entries for the same database: one per pool mode.
BDIR=$T_DIR/pgbouncer
mkdir -p "$BDIR"
printf '"postgres" ""\n' >"$BDIR/userlist.txt"
bouncer_start() {
	local tries
	for tries in 1 2 3 4 5; do
		BPORT=$(free_port)
		cat >"$BDIR/pgbouncer.ini" <<INI
[databases]
kb_session = host=127.0.0.1 port=$PGPORT dbname=pgkb_test pool_mode=session
kb_tx = host=127.0.0.1 port=$PGPORT dbname=pgkb_test pool_mode=transaction
kb_stmt = host=127.0.0.1 port=$PGPORT dbname=pgkb_test pool_mode=statement

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $BPORT
unix_socket_dir =
auth_type = trust
auth_file = $BDIR/userlist.txt
admin_users = postgres
pool_mode = session
max_client_conn = 300
default_pool_size = 60
logfile = $BDIR/pgbouncer.log
pidfile = $BDIR/pgbouncer.pid
INI
		[ "$(id -u)" = 0 ] && chown -R postgres: "$BDIR"
		# started directly (not through a shell function) so that cleanup's kill of $! and its children reaches it
		if [ "$(id -u)" = 0 ]; then
			runuser -u postgres -- "$PGBOUNCER" -q "$BDIR/pgbouncer.ini" &
		else
			"$PGBOUNCER" -q "$BDIR/pgbouncer.ini" &
		fi
		T_PIDS+=("$!")
		wait_port "$BPORT" "$!" && return 0
	done
	fail "pgbouncer did not start"; cat "$BDIR/pgbouncer.log"; finish
}
bouncer_start
bsql() { psql -qAtX -h 127.0.0.1 -p "$BPORT" -U postgres -d "$1" -c "$2"; }
assert_eq "$(bsql kb_session 'SELECT 1')" "1" "PgBouncer answers on 127.0.0.1:$BPORT"

# --- session mode: a whole run through the pooler
write_config "$T_DIR/session.yaml" "workers:
  ingest: {processes: 1, concurrency: 4}
  noop: {processes: 1, concurrency: 16}
  crawl: {processes: 0}
  embed: {processes: 0}"
DATABASE_URL="postgresql://postgres@127.0.0.1:$BPORT/kb_session" sup_start "$T_DIR/session.yaml" session
wait_for "SELECT count(*) = 2 FROM pg_stat_activity WHERE application_name IN ('pgkb-ingest', 'pgkb-noop') AND query LIKE 'LISTEN%'" 30 \
	"both workers LISTEN through PgBouncer"
assert_ge "$(bsql pgbouncer 'SHOW CLIENTS' | grep -c 'kb_session')" 10 "the workers' connections are PgBouncer clients"
# the CLI through the pooler too
DATABASE_URL="postgresql://postgres@127.0.0.1:$BPORT/kb_session" "$PGKB" enqueue noop '{"log": true}' >"$T_DIR/enqueue.log.txt" 2>&1
assert_eq "$?" "0" "pgkb enqueue through PgBouncer"
sql "INSERT INTO pgkb.jobs(kind, payload) SELECT 'noop', '{\"log\": true}' FROM generate_series(1, 499)"
for i in $(seq 1 20); do
	sql "INSERT INTO pgkb.jobs (kind, payload) VALUES ('ingest', jsonb_build_object('content', 'Pooled note $i.' || repeat(' About PgBouncer session pooling.', 80), 'url', 'note://pooled/$i', 'title', 'Pooled $i'))"
done
wait_for "SELECT count(*) = 500 FROM pgkb.noop_log" 60 "500 noop jobs done through PgBouncer"
wait_for "SELECT count(*) = 20 FROM pgkb.documents WHERE url LIKE 'note://pooled/%' AND status = 'chunked'" 60 "20 documents ingested through PgBouncer"
assert_eq "$(sql "SELECT count(*) FROM pgkb.jobs WHERE kind <> 'embed'")" "0" "no job left behind (the embed jobs wait: no embed workers)"
assert_eq "$(sql "SELECT count(*) FROM (SELECT url, chunk_number FROM archon_crawled_pages WHERE url LIKE 'note://pooled/%' GROUP BY 1, 2 HAVING count(*) > 1) d")" "0" "no chunk duplicated"
# a wakeup (NOTIFY) reaches the LISTEN connection through the pooler: a job is done well before the poll backstop
start=$(date +%s%N)
sql "INSERT INTO pgkb.jobs(kind, payload) VALUES ('noop', '{\"log\": true}')"
wait_for "SELECT count(*) = 501 FROM pgkb.noop_log" 10 "a job enqueued later is done"
assert_ge 2000 "$(( ($(date +%s%N) - start) / 1000000 ))" "... promptly (NOTIFY through the pooler)"
assert_eq "$(grep -c 'refusing\|Refusing' "$T_DIR/session.log")" "0" "session mode is accepted"
kill -TERM "$SUP_PID"; wait "$SUP_PID"

# --- transaction and statement modes: refused at start, saying what to use
for mode in tx stmt; do
	name=$([ "$mode" = tx ] && echo transaction || echo statement)
	start=$(date +%s)
	DATABASE_URL="postgresql://postgres@127.0.0.1:$BPORT/kb_$mode" timeout 60 "$SUPERVISOR" -c "$T_DIR/session.yaml" \
		>"$T_DIR/$mode.log" 2>&1
	rc=$?
	assert_eq "$rc" "2" "$name mode: the supervisor exits with code 2 (not restarted by systemd)"
	assert_ge 15 "$(( $(date +%s) - start ))" "... at once"
	msg=$(grep 'pooler' "$T_DIR/$mode.log" | head -1)
	assert_match "$msg" "connection pooler in $name mode" "... the message names the $name mode"
	assert_match "$msg" "session mode .*pool_mode = session" "... says to use session mode"
	assert_match "$msg" "connect to the database directly \\(its own port, 5432\\)" "... or the direct port"
	assert_match "$msg" "port 6543" "... and names Supabase's pooled port"
	assert_eq "$(grep -c 'worker .* started' "$T_DIR/$mode.log")" "0" "... before starting any worker"
done
finish
