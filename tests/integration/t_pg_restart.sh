#!/usr/bin/env bash
# The Postgres server restarted mid-run (immediate stop: connections die, no checkpoint): workers reconnect
# with backoff and keep running; the run completes with every job's effect recorded exactly once.
. "$(dirname "$0")/lib.sh"
pg_start
migrate
write_config "$T_DIR/pgkb.yaml" "workers:
  noop: {processes: 2, concurrency: 16}
  ingest: {processes: 0}
  crawl: {processes: 0}
  embed: {processes: 0}"
sql "INSERT INTO pgkb.jobs(kind, payload) SELECT 'noop', jsonb_build_object('log', true, 'sleep_ms', 2) FROM generate_series(1, 6000)"
sup_start "$T_DIR/pgkb.yaml" sup
wait_for "SELECT count(*) > 800 FROM pgkb.noop_log" 60 "work under way"
before=$(worker_pids "$SUP_PID")
pg_restart
sleep 1
pg_restart
wait_for "SELECT count(*) = 0 FROM pgkb.jobs" 120 "the run completes after two server restarts"
assert_eq "$(sql 'SELECT count(DISTINCT job_id) FROM pgkb.noop_log')" "6000" "every job's effect recorded"
assert_eq "$(sql 'SELECT count(*) FROM pgkb.noop_log')" "6000" "no effect recorded twice"
assert_eq "$(worker_pids "$SUP_PID")" "$before" "the workers survived the restarts (no respawn)"
assert_match "$(cat "$T_DIR/sup.log")" "database connection to .* lost" "connection loss logged"
assert_match "$(cat "$T_DIR/sup.log")" "database connection to .* restored" "reconnect logged"
lost_lines=$(grep -c "lost:" "$T_DIR/sup.log")
conns=$(( 2 * 5 * 2 ))
if [ "$lost_lines" -le "$conns" ]; then pass "loss logged once per connection per outage ($lost_lines lines)"; else fail "loss logged $lost_lines times (> $conns)"; fi
kill -TERM "$SUP_PID"; wait "$SUP_PID"
finish
