#!/usr/bin/env bash
# Failover to a streaming-replication standby: a primary and a hot standby (pg_basebackup -R) on loopback, the
# workers given both hosts with target_session_attrs=read-write. `pgkb search` and the SQL search function
# answer on the hot standby (nothing in the search path writes). Mid-crawl the primary is killed (immediate
# stop) after its walsender was paused for 2 s, so its last commits are lost, and the standby promoted: the workers find the new primary by themselves (no respawn), the crawl ends,
# every document ends final (ready here), no chunk is written twice, no job is left running (the leases of jobs
# that were running on the old primary expire and are claimed again; results of work the standby never saw
# are refused by the fence and done again), and nothing dies.
. "$(dirname "$0")/lib.sh"
DOCS=/usr/share/doc/postgresql-doc-15/html
[ -f "$DOCS/index.html" ] || { echo "SKIP: $DOCS missing (apt-get install postgresql-doc-15)"; exit 77; }
pg_start
migrate
PRIMARY_DIR=$PGDATA_DIR
P1=$PGPORT

# --- the standby: a base backup of the primary that streams from it (-R writes primary_conninfo)
STANDBY_DIR=$T_DIR/standby
standby_stop() { [ -f "$STANDBY_DIR/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl" -D "$STANDBY_DIR" -m immediate -w stop >/dev/null 2>&1; cleanup; }
trap standby_stop EXIT
as_pg "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$P1" -U postgres -D "$STANDBY_DIR" -R -X stream -c fast --no-sync \
	>"$T_DIR/basebackup.log" 2>&1 || { fail "pg_basebackup"; cat "$T_DIR/basebackup.log"; finish; }
for tries in 1 2 3 4 5; do
	P2=$(free_port)
	as_pg "$PGBIN/pg_ctl" -D "$STANDBY_DIR" -l "$T_DIR/standby.log" -w -t 60 \
		-o "-p $P2 -k $STANDBY_DIR -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off" start >/dev/null && break
	[ "$tries" = 5 ] && { fail "the standby did not start"; finish; }
done
ssql() { PGPORT=$P2 sql "$1"; }
assert_eq "$(ssql 'SELECT pg_is_in_recovery()')" "t" "the standby runs in recovery (hot standby on port $P2)"

# --- a worker pointed at the standby alone (no target_session_attrs): its writes are refused as read-only, and
# its connections are dropped to look for a primary instead of failing job after job
write_config "$T_DIR/ro.yaml" "workers:
  noop: {processes: 1, concurrency: 4}
  crawl: {processes: 0}
  ingest: {processes: 0}
  embed: {processes: 0}"
DATABASE_URL="host=127.0.0.1 port=$P2 dbname=pgkb_test user=postgres" sup_start "$T_DIR/ro.yaml" readonly
RO_PID=$SUP_PID
deadline=$(( $(date +%s) + 20 ))
while [ "$(date +%s)" -lt "$deadline" ] && ! grep -q 'read-only' "$T_DIR/readonly.log"; do sleep 0.2; done
assert_match "$(grep -m1 'read-only' "$T_DIR/readonly.log")" "lost: the server is read-only \\(cannot execute [A-Z]+ in a read-only transaction\\): looking for the primary" \
	"a worker on a read-only server drops the connection to look for the primary"
kill -TERM "$RO_PID"; wait "$RO_PID"

for attempt in 1 2 3 4 5; do
	PORT=$(free_port)
	nginx_serve "$DOCS" "$PORT" && break
done
BASE=http://127.0.0.1:$PORT
write_config "$T_DIR/pgkb.yaml" "workers:
  crawl: {processes: 1, concurrency: 8}
  ingest: {processes: 1, concurrency: 4}
  embed: {processes: 1, concurrency: 2}
crawl:
  allow_private_addresses: true
  host_delay: 100ms
  host_concurrency: 1"
export DATABASE_URL="host=127.0.0.1,127.0.0.1 port=$P1,$P2 dbname=pgkb_test user=postgres target_session_attrs=read-write"
sup_start "$T_DIR/pgkb.yaml" sup
MAIN=$SUP_PID
wait_for "SELECT count(*) = 3 FROM pg_stat_activity WHERE application_name LIKE 'pgkb-%' AND query LIKE 'LISTEN%'" 30 \
	"the workers connected to the primary"
before=$(worker_pids "$MAIN")
id=$(DATABASE_URL= "$PGKB" enqueue crawl "$BASE/index.html" --source-id docs --depth 100 --max-pages 200)
wait_for "SELECT count(*) >= 10 FROM pgkb.documents WHERE status = 'ready'" 90 "some pages crawled, chunked and embedded"

# --- search on the hot standby (read-only): the CLI and the SQL function
wait_for "SELECT (SELECT count(*) FROM archon_crawled_pages WHERE embedding_384 IS NOT NULL) > 0" 5 "embedded chunks exist" >/dev/null 2>&1
sleep 1 # replication
out=$(DATABASE_URL= PGPORT=$P2 "$PGKB" -c "$T_DIR/pgkb.yaml" search "PostgreSQL documentation" -k 3 2>&1); rc=$?
assert_eq "$rc" "0" "pgkb search on the hot standby succeeds ($(printf '%s' "$out" | head -1))"
assert_match "$out" " 1\. " "... and finds pages"
n=$(ssql "SELECT count(*) FROM public.hybrid_search_archon_crawled_pages_multi(pgkb.to_embedding(array_fill(0.1::real, ARRAY[384])), 384, 'postgresql', 5, '{}'::jsonb, NULL)" 2>&1)
assert_match "$n" '^[1-5]$' "the SQL search function answers on the standby ($n rows)"

# --- failover mid-crawl, losing the primary's last commits: its walsender is stopped for 2 s first, so what
# the workers commit meanwhile never reaches the standby
wait_for "SELECT count(*) >= 25 FROM pgkb.documents WHERE status = 'ready'" 90 "the crawl is under way"
wal_sender=$(sql "SELECT pid FROM pg_stat_replication LIMIT 1")
kill -STOP "$wal_sender"
sleep 2
IFS='|' read -r done_primary pending <<<"$(sql "SELECT (SELECT count(*) FROM pgkb.job_history), (SELECT count(*) FROM pgkb.jobs)")"
at_kill=$(sql "SELECT count(*) FROM pgkb.documents WHERE status <> 'ready'")
as_pg "$PGBIN/pg_ctl" -D "$PRIMARY_DIR" -m immediate -W stop >/dev/null
kill -KILL "$wal_sender"; kill -CONT "$wal_sender" 2>/dev/null
for i in $(seq 1 100); do [ -f "$PRIMARY_DIR/postmaster.pid" ] || break; sleep 0.1; done
log "primary killed: $pending jobs pending, $at_kill documents not ready yet; promoting the standby"
assert_ge "$pending" 1 "the primary was killed mid-crawl ($pending jobs pending)"
as_pg "$PGBIN/pg_ctl" -D "$STANDBY_DIR" -w promote >/dev/null || fail "pg_ctl promote"
export PGPORT=$P2
PGDATA_DIR=$STANDBY_DIR # cleanup stops the new primary
wait_for "SELECT NOT pg_is_in_recovery()" 30 "the standby is promoted"
done_standby=$(sql "SELECT count(*) FROM pgkb.job_history")
assert_ge "$((done_primary - done_standby))" 1 "jobs committed as done on the old primary never reached the standby ($done_primary there, $done_standby here)"
wait_for "SELECT count(*) = 3 FROM pg_stat_activity WHERE application_name LIKE 'pgkb-%' AND query LIKE 'LISTEN%'" 60 \
	"the workers reconnected to the new primary by themselves"
wait_for "SELECT status = 'done' FROM pgkb.crawls WHERE job_id = $id" 120 "the crawl ends on the new primary"
wait_for "SELECT count(*) = 0 FROM pgkb.jobs WHERE state <> 'dead'" 120 "every job finished (none stuck running)"
assert_eq "$(sql "SELECT count(*) FROM pgkb.jobs")" "0" "no job dead"
docs=$(sql "SELECT count(*) FROM pgkb.documents WHERE source_id = 'docs'")
assert_ge "$docs" 100 "the crawl's pages are all there ($docs documents)"
assert_eq "$(sql "SELECT count(*) FROM pgkb.documents WHERE source_id = 'docs' AND status NOT IN ('ready', 'failed', 'skipped', 'gone')")" "0" \
	"every document ends final"
assert_eq "$(sql "SELECT count(*) FROM pgkb.documents WHERE source_id = 'docs' AND status = 'failed'")" "0" "... none failed"
IFS='|' read -r rows keys <<<"$(sql "SELECT count(*), count(DISTINCT (url, chunk_number)) FROM archon_crawled_pages")"
assert_ge "$rows" 1 "chunks written ($rows)"
assert_eq "$keys" "$rows" "no chunk duplicated: count by (url, chunk_number) = rows"
assert_eq "$(sql "SELECT count(*) FROM archon_crawled_pages WHERE embedding_384 IS NULL")" "0" "every chunk embedded"
assert_eq "$(worker_pids "$MAIN")" "$before" "the workers survived the failover (no respawn)"
assert_match "$(cat "$T_DIR/sup.log")" "database connection to .* restored" "the reconnect is logged"
rerun=$(sql "SELECT count(*) FROM pgkb.job_history WHERE attempts > 1")
log "jobs run again after the failover (lease expired or result refused by the fence): $rerun"

kill -TERM "$MAIN"; wait "$MAIN"
finish
