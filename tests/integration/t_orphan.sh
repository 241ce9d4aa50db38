#!/usr/bin/env bash
# Orphaned workers exit: the supervisor is SIGKILLed and PostgreSQL stopped right after, and every worker (idle
# ones, and one running a long job that it can no longer hand back) exits within queue.drain_timeout and a small
# margin, however the database fails (refused reconnects here). Before, an idle orphan stayed in its event loop.
. "$(dirname "$0")/lib.sh"
pg_start
migrate
DRAIN=3s write_config "$T_DIR/pgkb.yaml" "workers:
  noop: {processes: 2, concurrency: 4}
  ingest: {processes: 1}
  crawl: {processes: 1}
  embed: {processes: 1}"
sup_start "$T_DIR/pgkb.yaml" sup
wait_for "SELECT count(*) >= 5 FROM pg_stat_activity WHERE query LIKE 'LISTEN%'" 20 "workers up"
sql "INSERT INTO pgkb.jobs(kind, payload) VALUES ('noop', '{\"sleep_ms\": 600000}')"
wait_for "SELECT count(*) = 1 FROM pgkb.jobs WHERE state = 'running'" 20 "the long job runs"
workers=$(worker_pids "$SUP_PID")
assert_eq "$(echo $workers | wc -w)" "5" "5 workers before the supervisor dies"
start=$(date +%s.%N)
kill -KILL "$SUP_PID"
as_pg "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -m immediate -w stop >/dev/null
# alive PID: running, not a zombie (an orphan is reaped by whoever adopts it, maybe late)
alive() { [ -r "/proc/$1/stat" ] && ! grep -qE '^[0-9]+ \(.*\) Z' "/proc/$1/stat" 2>/dev/null; }
left=$workers
for _ in $(seq 1 150); do # up to 15 s
	left=$(for p in $workers; do alive "$p" && echo "$p"; done | tr '\n' ' ')
	[ -z "${left// /}" ] && break
	sleep 0.1
done
took=$(echo "$(date +%s.%N) - $start" | bc)
if [ -z "${left// /}" ]; then pass "every orphaned worker exited (${took}s after the supervisor died)"; else
	fail "orphaned workers still running after ${took}s: $left"; kill -KILL $left 2>/dev/null; fi
assert_eq "$(echo "$took < 3 + 2" | bc)" "1" "... within drain_timeout (3 s) and a 2 s margin (${took}s)"
assert_match "$(cat "$T_DIR/sup.log")" "draining \(supervisor is gone\)" "the workers noticed the supervisor was gone"
finish
