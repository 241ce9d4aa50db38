#!/usr/bin/env bash
# Replicas: two supervisors (as two compose replicas or two hosts would) share one database. 10,000 noop jobs
# with {"log": true} are split between them (both supervisors' workers complete jobs, told apart by the
# supervisor pid in the lease owner) and each job is done exactly once (one pgkb.noop_log row per job), even
# with one worker killed mid-run.
. "$(dirname "$0")/lib.sh"
pg_start
migrate
N=10000
cfg() {
	write_config "$1" "workers:
  noop: {processes: 2, concurrency: 64}
  ingest: {processes: 0}
  crawl: {processes: 0}
  embed: {processes: 0}"
}
cfg "$T_DIR/a.yaml"
cfg "$T_DIR/b.yaml"
sup_start "$T_DIR/a.yaml" replica-a
A=$SUP_PID
sup_start "$T_DIR/b.yaml" replica-b
B=$SUP_PID
wait_for "SELECT count(*) = 4 FROM pg_stat_activity WHERE application_name = 'pgkb-noop' AND query LIKE 'LISTEN%'" 30 "4 workers up"

sql "INSERT INTO pgkb.jobs(kind, payload) SELECT 'noop', jsonb_build_object('log', true, 'sleep_ms', (i % 3)) FROM generate_series(1, $N) i"
# kill one of replica A's workers while the jobs run: its leases are handed back and run again elsewhere
wait_for "SELECT count(*) >= 1000 FROM pgkb.noop_log" 60 "a tenth done"
victim=$(pgrep -P "$A" | head -1)
kill -KILL "$victim"
wait_for "SELECT count(*) = 0 FROM pgkb.jobs" 180 "all jobs done"

assert_eq "$(sql "SELECT count(*) FROM pgkb.noop_log")" "$N" "one noop_log row per job"
assert_eq "$(sql "SELECT count(DISTINCT job_id) FROM pgkb.noop_log")" "$N" "no job done twice"
assert_eq "$(sql "SELECT count(*) FROM pgkb.job_history WHERE state = 'succeeded'")" "$N" "every job succeeded once"
assert_eq "$(sql "SELECT count(*) FROM pgkb.noop_log l LEFT JOIN pgkb.job_history h ON h.id = l.job_id WHERE h.id IS NULL")" "0" \
	"every logged job is in the history"
pids=$(sql "SELECT string_agg(DISTINCT split_part(worker, ':', 2), ' ' ORDER BY split_part(worker, ':', 2)) FROM pgkb.noop_log")
assert_eq "$pids" "$(printf '%s\n' "$A" "$B" | sort | tr '\n' ' ' | sed 's/ $//')" "both supervisors' workers completed jobs"
for p in "$A" "$B"; do
	n=$(sql "SELECT count(*) FROM pgkb.noop_log WHERE split_part(worker, ':', 2) = '$p'")
	log "supervisor $p: $n jobs"
	assert_ge "$n" $((N / 20)) "supervisor $p did at least 5% of the jobs"
done
assert_ge "$(sql "SELECT count(DISTINCT worker) FROM pgkb.noop_log")" 4 "at least 4 worker processes took part"
assert_match "$(cat "$T_DIR/replica-a.log")" "killed by signal 9" "the killed worker was noticed and respawned"

kill -TERM "$A" "$B"
wait "$A"; ra=$?
wait "$B"; rb=$?
assert_eq "$ra:$rb" "0:0" "both supervisors exit 0"
finish
