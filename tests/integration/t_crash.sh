#!/usr/bin/env bash
# Crashes and frozen workers: a SIGKILLed worker's job is completed by another exactly once; a worker frozen
# with SIGSTOP loses its lease to a rescue, and its late completion is refused by the fence when it resumes.
. "$(dirname "$0")/lib.sh"
pg_start
migrate
LEASE=2s write_config "$T_DIR/pgkb.yaml" "workers:
  noop: {processes: 2, concurrency: 1}
  ingest: {processes: 0}
  crawl: {processes: 0}
  embed: {processes: 0}"
sup_start "$T_DIR/pgkb.yaml" sup
wait_for "SELECT count(*) = 2 FROM pg_stat_activity WHERE application_name = 'pgkb-noop' AND query LIKE 'LISTEN%'" 20 "workers connected"

pid_of_owner() { # the worker pid that the supervisor started with lease owner $1
	# The supervisor logs a start after fork(): on a loaded machine the new worker can claim a job before the
	# parent has written that line, so wait for it.
	local pid= deadline=$(( $(date +%s) + 10 ))
	while [ -z "$pid" ] && [ "$(date +%s)" -le "$deadline" ]; do
		pid=$(grep -F "lease owner $1)" "$T_DIR/sup.log" | sed -n 's/.*(pid \([0-9]*\), lease owner.*/\1/p' | tail -n 1)
		[ -n "$pid" ] || sleep 0.1
	done
	printf '%s\n' "$pid"
}

# --- SIGKILL mid-job
id=$(sql "INSERT INTO pgkb.jobs(kind, payload) VALUES ('noop', '{\"sleep_ms\": 3000, \"log\": true}') RETURNING id")
wait_for "SELECT state = 'running' FROM pgkb.jobs WHERE id = $id" 10 "job $id running"
owner=$(sql "SELECT lease_owner FROM pgkb.jobs WHERE id = $id")
victim=$(pid_of_owner "$owner")
kill -KILL "$victim"
wait_for "SELECT count(*) = 1 FROM pgkb.job_history WHERE id = $id AND state = 'succeeded'" 30 "killed worker's job completed"
assert_eq "$(sql "SELECT count(*) FROM pgkb.noop_log WHERE job_id = $id")" "1" "the killed job's effect is recorded exactly once"
assert_eq "$(sql "SELECT worker <> '$owner' FROM pgkb.noop_log WHERE job_id = $id")" "t" "... by another worker process"
assert_eq "$(sql "SELECT attempts FROM pgkb.job_history WHERE id = $id")" "2" "the crashed attempt counts"
assert_match "$(cat "$T_DIR/sup.log")" "handed back job $id \\(noop\\)" "the supervisor handed the lease back at once"
assert_match "$(cat "$T_DIR/sup.log")" "noop-[12] \\(pid $victim\\) killed by signal 9.*restarting" "the killed worker is restarted"
wait_for "SELECT count(*) = 2 FROM pg_stat_activity WHERE application_name = 'pgkb-noop' AND query LIKE 'LISTEN%'" 20 "replacement worker connected"

# --- SIGSTOP: the lease expires, another worker rescues the job, the frozen worker's completion is refused
id=$(sql "INSERT INTO pgkb.jobs(kind, payload) VALUES ('noop', '{\"sleep_ms\": 1500, \"log\": true}') RETURNING id")
wait_for "SELECT state = 'running' FROM pgkb.jobs WHERE id = $id" 10 "job $id running"
owner=$(sql "SELECT lease_owner FROM pgkb.jobs WHERE id = $id")
frozen=$(pid_of_owner "$owner")
kill -STOP "$frozen"
wait_for "SELECT count(*) = 1 FROM pgkb.job_history WHERE id = $id AND state = 'succeeded'" 30 "rescued job completed"
assert_eq "$(sql "SELECT worker <> '$owner' FROM pgkb.noop_log WHERE job_id = $id")" "t" "another worker ran the rescued job"
assert_match "$(cat "$T_DIR/sup.log")" "rescued job $id \\(noop\\) from an expired lease" "the rescue is logged"
kill -CONT "$frozen"
deadline=$(( $(date +%s) + 10 ))
until grep -q "\[noop-[12] $frozen\] result of pgkb_complete_fenced refused: pgkb: job $id is no longer leased" "$T_DIR/sup.log" || [ "$(date +%s)" -gt "$deadline" ]; do sleep 0.2; done
assert_match "$(cat "$T_DIR/sup.log")" "\\[noop-[12] $frozen\\] result of pgkb_complete_fenced refused: pgkb: job $id is no longer leased" "the resumed worker's late completion is refused"
assert_eq "$(sql "SELECT count(*) FROM pgkb.noop_log WHERE job_id = $id")" "1" "the rescued job's effect is recorded exactly once"
assert_eq "$(sql "SELECT count(*) FROM pgkb.job_history WHERE id = $id")" "1" "one history row for the rescued job"
assert_eq "$(kill -0 "$frozen" 2>/dev/null && echo alive)" "alive" "the resumed worker keeps running"
kill -TERM "$SUP_PID"; wait "$SUP_PID"
finish
