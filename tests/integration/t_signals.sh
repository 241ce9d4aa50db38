#!/usr/bin/env bash
# Supervisor signals: SIGTERM drains in-flight jobs; the drain timeout hands back what is left; SIGQUIT stops
# at once and hands leases back; SIGHUP with a broken config keeps the old one, with a good one rolls workers;
# a worker exiting with code 2 (fatal configuration) is not respawned.
. "$(dirname "$0")/lib.sh"
pg_start
migrate
cfg() { # cfg FILE PROCESSES [DRAIN]
	DRAIN=${3:-10s} write_config "$1" "workers:
  noop: {processes: $2, concurrency: 4}
  ingest: {processes: 0}
  crawl: {processes: 0}
  embed: {processes: 0}"
}
listeners() { sql "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgkb-noop' AND query LIKE 'LISTEN%'"; }

# --- SIGTERM: in-flight jobs finish, nothing new is claimed, exit 0
cfg "$T_DIR/a.yaml" 2
sup_start "$T_DIR/a.yaml" term
wait_for "SELECT count(*) = 2 FROM pg_stat_activity WHERE application_name = 'pgkb-noop' AND query LIKE 'LISTEN%'" 20 "workers up"
sql "INSERT INTO pgkb.jobs(kind, payload) SELECT 'noop', '{\"sleep_ms\": 1500, \"log\": true}' FROM generate_series(1, 4)"
wait_for "SELECT count(*) = 4 FROM pgkb.jobs WHERE state = 'running'" 10 "4 jobs running"
kill -TERM "$SUP_PID"
sleep 0.3
late=$(sql "INSERT INTO pgkb.jobs(kind, payload) VALUES ('noop', '{\"tag\": \"late\"}') RETURNING id")
wait "$SUP_PID"; rc=$?
assert_eq "$rc" "0" "SIGTERM: supervisor exits 0"
assert_eq "$(sql 'SELECT count(*) FROM pgkb.noop_log')" "4" "SIGTERM: the 4 in-flight jobs finished"
assert_eq "$(sql "SELECT state FROM pgkb.jobs WHERE id = $late")" "queued" "SIGTERM: nothing new claimed while draining"
assert_eq "$(pgrep -f "pgkb-supervisor -c $T_DIR/a.yaml" | wc -l)" "0" "SIGTERM: no process left"
sql "DELETE FROM pgkb.jobs"

# --- drain timeout: a job longer than the drain is handed back, its attempt not counted
cfg "$T_DIR/b.yaml" 1 1s
sup_start "$T_DIR/b.yaml" drain
id=$(sql "INSERT INTO pgkb.jobs(kind, payload) VALUES ('noop', '{\"sleep_ms\": 20000}') RETURNING id")
wait_for "SELECT state = 'running' FROM pgkb.jobs WHERE id = $id" 20 "long job running"
t0=$(date +%s)
kill -TERM "$SUP_PID"; wait "$SUP_PID"; rc=$?
took=$(( $(date +%s) - t0 ))
assert_eq "$rc" "0" "drain timeout: exit 0"
if [ "$took" -le 8 ]; then pass "drain timeout: stopped in ${took}s, not after the 20 s job"; else fail "drain took ${took}s"; fi
assert_eq "$(sql "SELECT state || ',' || attempts || ',' || (lease_owner IS NULL) FROM pgkb.jobs WHERE id = $id")" "queued,0,true" \
	"drain timeout: the job was handed back without counting the attempt"
sql "DELETE FROM pgkb.jobs"

# --- SIGQUIT: immediate; the supervisor hands the leases back
cfg "$T_DIR/c.yaml" 1
sup_start "$T_DIR/c.yaml" quit
id=$(sql "INSERT INTO pgkb.jobs(kind, payload) VALUES ('noop', '{\"sleep_ms\": 20000}') RETURNING id")
wait_for "SELECT state = 'running' FROM pgkb.jobs WHERE id = $id" 20 "long job running"
t0=$(date +%s)
kill -QUIT "$SUP_PID"; wait "$SUP_PID"; rc=$?
took=$(( $(date +%s) - t0 ))
assert_eq "$rc" "0" "SIGQUIT: exit 0"
if [ "$took" -le 3 ]; then pass "SIGQUIT: stopped in ${took}s"; else fail "SIGQUIT took ${took}s"; fi
assert_eq "$(sql "SELECT state || ',' || (lease_owner IS NULL) FROM pgkb.jobs WHERE id = $id")" "queued,true" "SIGQUIT: the lease was handed back at once"
sql "DELETE FROM pgkb.jobs"

# --- SIGHUP: a broken file keeps the old config and workers; a good one rolls the workers
cfg "$T_DIR/d.yaml" 2
sup_start "$T_DIR/d.yaml" hup
wait_for "SELECT count(*) = 2 FROM pg_stat_activity WHERE application_name = 'pgkb-noop' AND query LIKE 'LISTEN%'" 20 "2 workers up"
before=$(worker_pids "$SUP_PID")
printf 'queue:\n  batch_size: lots\n' >"$T_DIR/d.yaml"
kill -HUP "$SUP_PID"
sleep 1
assert_match "$(cat "$T_DIR/hup.log")" "reload failed, keeping the current configuration: .*queue.batch_size" "broken reload: logged with the key"
assert_eq "$(worker_pids "$SUP_PID")" "$before" "broken reload: the same workers keep running"
id=$(sql "INSERT INTO pgkb.jobs(kind, payload) VALUES ('noop', '{\"log\": true}') RETURNING id")
wait_for "SELECT count(*) = 1 FROM pgkb.noop_log WHERE job_id = $id" 10 "broken reload: jobs still run"
cfg "$T_DIR/d.yaml" 3
kill -HUP "$SUP_PID"
wait_for "SELECT count(*) = 3 FROM pg_stat_activity WHERE application_name = 'pgkb-noop' AND query LIKE 'LISTEN%'" 20 "good reload: 3 workers"
# the retired workers drain and exit on their own (slower under sanitizers): wait for them
deadline=$(( $(date +%s) + 20 ))
while :; do
	after=$(worker_pids "$SUP_PID")
	common=$(comm -12 <(tr ' ' '\n' <<<"$before" | sort) <(tr ' ' '\n' <<<"$after" | sort) | grep -c .)
	{ [ "$common" = 0 ] && [ "$(wc -w <<<"$after" | tr -d ' ')" = 3 ]; } || [ "$(date +%s)" -ge "$deadline" ] && break
	sleep 0.2
done
assert_eq "$common" "0" "good reload: every worker was replaced"
assert_eq "$(wc -w <<<"$after" | tr -d ' ')" "3" "good reload: the new worker count applies"
kill -TERM "$SUP_PID"; wait "$SUP_PID"

# --- exit code 2 from a worker is fatal: not respawned
cfg "$T_DIR/e.yaml" 1
printf 'database:\n  url: "postgres://[broken"\n' >>"$T_DIR/e.yaml"
sup_start "$T_DIR/e.yaml" fatal
sleep 2
assert_match "$(cat "$T_DIR/fatal.log")" "exited with code 2: fatal configuration error, not restarting" "exit code 2 is not respawned"
assert_eq "$(grep -c 'started noop-1' "$T_DIR/fatal.log")" "1" "the fatal worker was started once"
kill -TERM "$SUP_PID"; wait "$SUP_PID"

# --- a broken config at start: exit 2 naming the key and line; no file at all: defaults
printf 'queue:\n  lease: forever\n' >"$T_DIR/bad.yaml"
out=$("$SUPERVISOR" -c "$T_DIR/bad.yaml" 2>&1); rc=$?
assert_eq "$rc" "2" "a broken config file: exit 2"
assert_match "$out" "bad.yaml:2: queue.lease: expected a duration" "... naming the file, line and key"
out=$(env -u PGKB_CONFIG PGKB_QUEUE_BATCH_SIZE=77 "$SUPERVISOR" --check 2>&1)
assert_match "$out" "batch_size: 77" "no file: defaults plus PGKB_* environment overrides"

# --- the supervisor killed outright: its workers notice and exit
cfg "$T_DIR/f.yaml" 2
sup_start "$T_DIR/f.yaml" orphan
wait_for "SELECT count(*) = 2 FROM pg_stat_activity WHERE application_name = 'pgkb-noop' AND query LIKE 'LISTEN%'" 20 "2 workers up"
orphans=$(worker_pids "$SUP_PID")
kill -KILL "$SUP_PID"; wait "$SUP_PID" 2>/dev/null
deadline=$(( $(date +%s) + 15 ))
for p in $orphans; do while kill -0 "$p" 2>/dev/null && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.1; done; done
left=0; for p in $orphans; do kill -0 "$p" 2>/dev/null && left=$((left + 1)); done
assert_eq "$left" "0" "workers exit when their supervisor is gone"
assert_match "$(cat "$T_DIR/orphan.log")" "draining \((supervisor is gone|SIGTERM)\)" "... after draining"
finish
