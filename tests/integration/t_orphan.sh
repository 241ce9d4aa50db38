#!/usr/bin/env bash
# Orphaned workers exit: the supervisor is SIGKILLed and PostgreSQL stopped right after, and every worker (idle
# ones, and one running a long job that it can no longer hand back) exits within queue.drain_timeout and a small
# margin, however the database fails (refused reconnects here), and whether it went before or after the
# supervisor. Before, an orphan with a request the database never answered stayed in its event loop.
. "$(dirname "$0")/lib.sh"
pg_start
migrate
DRAIN=3s write_config "$T_DIR/pgkb.yaml" "workers:
  noop: {processes: 2, concurrency: 4}
  ingest: {processes: 1}
  crawl: {processes: 1}
  embed: {processes: 1}"
# alive PID: running, not a zombie (an orphan is reaped by whoever adopts it, maybe late)
alive() { [ -r "/proc/$1/stat" ] && ! grep -qE '^[0-9]+ \(.*\) Z' "/proc/$1/stat" 2>/dev/null; }
stop_pg() { as_pg "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -m immediate -w stop >/dev/null; }

# orphans NAME FIRST: starts a supervisor (5 workers, one running a long job), then does FIRST ("kill": SIGKILL
# the supervisor, then stop PostgreSQL; "stop": stop PostgreSQL, let the workers' requests pile up unanswered
# for a second, then SIGKILL the supervisor), and checks every worker exits within the drain timeout + 3 s
# (the margin covers this loop on a loaded machine; the workers log their stop about 3.1 s after the kill).
orphans() {
	sup_start "$T_DIR/pgkb.yaml" "$1"
	wait_for "SELECT count(*) >= 5 FROM pg_stat_activity WHERE query LIKE 'LISTEN%'" 20 "workers up"
	sql "DELETE FROM pgkb.jobs; INSERT INTO pgkb.jobs(kind, payload) VALUES ('noop', '{\"sleep_ms\": 600000}')"
	wait_for "SELECT count(*) = 1 FROM pgkb.jobs WHERE state = 'running'" 20 "the long job runs"
	local workers left took start
	workers=$(worker_pids "$SUP_PID")
	assert_eq "$(echo $workers | wc -w)" "5" "$1: 5 workers before the supervisor dies"
	if [ "$2" = kill ]; then
		start=$(date +%s.%N)
		kill -KILL "$SUP_PID"
		stop_pg
	else
		stop_pg
		sleep 1
		start=$(date +%s.%N)
		kill -KILL "$SUP_PID"
	fi
	for _ in $(seq 1 150); do # up to 15 s
		left=$(for p in $workers; do alive "$p" && echo "$p"; done | tr '\n' ' ')
		[ -z "${left// /}" ] && break
		sleep 0.1
	done
	took=$(echo "$(date +%s.%N) - $start" | bc)
	if [ -z "${left// /}" ]; then pass "$1: every orphaned worker exited (${took}s after the supervisor died)"; else
		fail "$1: orphaned workers still running after ${took}s: $left"; kill -KILL $left 2>/dev/null; fi
	assert_eq "$(echo "$took < 3 + 3" | bc)" "1" "$1: ... within drain_timeout (3 s) and a 3 s margin (${took}s)"
	assert_match "$(cat "$T_DIR/$1.log")" "draining \(supervisor is gone\)" "$1: the workers noticed the supervisor was gone"
}
orphans sup_then_pg kill
pg_ctl_start
orphans pg_then_sup stop
finish
