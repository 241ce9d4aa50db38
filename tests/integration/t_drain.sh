#!/usr/bin/env bash
# Several worker processes drain 20,000 jobs; every job's effect is recorded exactly once and none is left.
. "$(dirname "$0")/lib.sh"
pg_start
migrate
write_config "$T_DIR/pgkb.yaml" "workers:
  noop: {processes: 3, concurrency: 64}
  ingest: {processes: 0}
  crawl: {processes: 0}
  embed: {processes: 0}"
sql "INSERT INTO pgkb.jobs(kind, payload) SELECT 'noop', jsonb_build_object('log', true, 'n', g) FROM generate_series(1, 20000) g"
sup_start "$T_DIR/pgkb.yaml" sup
wait_for "SELECT count(*) = 0 FROM pgkb.jobs" 120 "20,000 jobs drained"
assert_eq "$(sql 'SELECT count(*) FROM pgkb.noop_log')" "20000" "20,000 effects recorded"
assert_eq "$(sql 'SELECT count(*) FROM (SELECT job_id FROM pgkb.noop_log GROUP BY job_id HAVING count(*) > 1) d')" "0" "no effect recorded twice"
assert_eq "$(sql "SELECT count(DISTINCT (payload->>'n')) FROM pgkb.noop_log")" "20000" "every payload ran"
assert_eq "$(sql "SELECT count(*) FROM pgkb.job_history WHERE state = 'succeeded'")" "20000" "20,000 jobs in history as succeeded"
assert_ge "$(sql 'SELECT count(DISTINCT worker) FROM pgkb.noop_log')" 2 "the work was shared by several workers"
kill -TERM "$SUP_PID"; wait "$SUP_PID"; rc=$?
assert_eq "$rc" "0" "supervisor exits 0 after SIGTERM"
finish
