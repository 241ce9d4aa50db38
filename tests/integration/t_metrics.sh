#!/usr/bin/env bash
# Metrics: the supervisor's metrics child serves Prometheus text on supervisor.metrics_listen with the workers'
# shared counters (claimed, succeeded, failed, retried, dead, refused, a duration histogram, pool connections)
# and database figures (queue depth, oldest ready job, dead jobs, dead tuples, oldest transaction); it answers
# 404/405 to other requests, is respawned when killed without losing the counters, survives a reload, and
# stops with the supervisor.
. "$(dirname "$0")/lib.sh"
pg_start
migrate
MPORT=$(free_port)
write_config "$T_DIR/m.yaml" "workers:
  noop: {processes: 2, concurrency: 16}
  ingest: {processes: 0}
  crawl: {processes: 0}
  embed: {processes: 0}"
export PGKB_SUPERVISOR_METRICS_LISTEN=127.0.0.1:$MPORT

# http METHOD PATH: the raw response (head and body) from the metrics port.
http() {
	exec 3<>"/dev/tcp/127.0.0.1/$MPORT" || return 1
	printf '%s %s HTTP/1.0\r\nHost: localhost\r\n\r\n' "$1" "$2" >&3
	timeout 10 cat <&3
	exec 3<&-
}
scrape() { http GET /metrics 2>/dev/null | tr -d '\r'; }
# metric TEXT NAME{labels}: the value of one sample ("" when absent).
metric() { printf '%s\n' "$1" | awk -v n="$2" '$1 == n { print $2; exit }'; }
wait_metrics() {
	local deadline=$(( $(date +%s) + $1 ))
	while [ "$(date +%s)" -lt "$deadline" ]; do
		scrape | grep -q '^pgkb_database_up 1' && return 0
		sleep 0.2
	done
	return 1
}

sup_start "$T_DIR/m.yaml" metrics
if wait_metrics 20; then pass "GET /metrics answers"; else fail "GET /metrics answers"; fi
wait_for "SELECT count(*) = 2 FROM pg_stat_activity WHERE application_name = 'pgkb-noop' AND query LIKE 'LISTEN%'" 20 "workers up"

sql "INSERT INTO pgkb.jobs(kind, payload) SELECT 'noop', '{\"log\": true, \"sleep_ms\": 20}' FROM generate_series(1, 100)"
sql "INSERT INTO pgkb.jobs(kind, payload, max_attempts) SELECT 'noop', '{\"fail\": \"boom\"}', 1 FROM generate_series(1, 3)"
sql "INSERT INTO pgkb.jobs(kind, payload, max_attempts, priority) SELECT 'noop', '{\"fail\": \"again\"}', 5, 1 FROM generate_series(1, 2)"
# a ready job nobody runs (no crawl workers), an hour old, for the oldest-ready gauge
sql "INSERT INTO pgkb.jobs(kind, payload, run_at) VALUES ('crawl', '{\"url\": \"http://127.0.0.1:1/\"}', now() - interval '1 hour')"
wait_for "SELECT count(*) = 100 FROM pgkb.noop_log" 30 "100 jobs done"
wait_for "SELECT count(*) = 3 FROM pgkb.jobs WHERE state = 'dead'" 30 "3 dead jobs"
wait_for "SELECT count(*) = 2 FROM pgkb.jobs WHERE attempts >= 1 AND state = 'queued' AND kind = 'noop'" 30 "2 retried jobs"
# an open transaction, for the oldest-transaction gauge
psql -qAtX -c "BEGIN; SELECT txid_current(); SELECT pg_sleep(30); COMMIT;" >/dev/null 2>&1 &
HOLDER=$!
T_PIDS+=("$HOLDER")
# psql may take a moment to start on a loaded machine: the 2.5 s count from when the transaction is open
wait_for "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_xid IS NOT NULL AND query LIKE '%pg_sleep(30)%'" 30 \
	"the open transaction has started"
sleep 2.5 # past the completion batching and one maintenance tick

m=$(scrape)
printf '%s\n' "$m" >"$T_DIR/scrape1.log.txt"
assert_eq "$(metric "$m" 'pgkb_jobs_succeeded_total{kind="noop"}')" "100" "succeeded counts the 100 jobs"
assert_ge "$(metric "$m" 'pgkb_jobs_claimed_total{kind="noop"}')" 105 "claimed counts every claim"
assert_ge "$(metric "$m" 'pgkb_jobs_failed_total{kind="noop"}')" 5 "failed counts the failing attempts"
assert_eq "$(metric "$m" 'pgkb_jobs_dead_total{kind="noop"}')" "3" "dead counts the jobs out of attempts"
assert_ge "$(metric "$m" 'pgkb_jobs_retried_total{kind="noop"}')" 2 "retried counts the attempts queued again"
assert_eq "$(metric "$m" 'pgkb_jobs_refused_total{kind="noop"}')" "0" "nothing refused by the fence"
assert_eq "$(metric "$m" 'pgkb_jobs_succeeded_total{kind="crawl"}')" "0" "every kind has its line"
count=$(metric "$m" 'pgkb_job_duration_seconds_count{kind="noop"}')
assert_ge "$count" 105 "the duration histogram counts each finished attempt"
assert_eq "$(metric "$m" 'pgkb_job_duration_seconds_bucket{kind="noop",le="+Inf"}')" "$count" "+Inf bucket = count"
fast=$(metric "$m" 'pgkb_job_duration_seconds_bucket{kind="noop",le="0.01"}')
assert_ge "$((count - 100))" "$fast" "the 20 ms jobs are not in the 10 ms bucket"
assert_ge "$(metric "$m" 'pgkb_job_duration_seconds_bucket{kind="noop",le="10"}')" 100 "... they are in the 10 s one"
assert_match "$m" 'pgkb_job_duration_seconds_sum\{kind="noop"\} [0-9]+\.[0-9]+' "histogram sum"
assert_eq "$(printf '%s\n' "$m" | grep -c '^pgkb_worker_pool_connections{worker_kind="noop",pid="[0-9]*"} [1-9]')" "2" \
	"pool connections of both workers"
assert_eq "$(metric "$m" 'pgkb_queue_jobs{kind="noop",state="dead"}')" "3" "queue depth: dead noop jobs"
assert_eq "$(metric "$m" 'pgkb_queue_dead_jobs{kind="noop"}')" "3" "dead jobs gauge"
assert_eq "$(( $(metric "$m" 'pgkb_queue_jobs{kind="noop",state="queued"}') + $(metric "$m" 'pgkb_queue_jobs{kind="noop",state="running"}') ))" "2" \
	"queue depth: queued + running noop jobs (the 2 retried ones)"
assert_eq "$(metric "$m" 'pgkb_queue_ready_jobs{kind="crawl"}')" "1" "ready crawl job"
age=$(metric "$m" 'pgkb_queue_oldest_ready_seconds{kind="crawl"}')
assert_ge "${age%.*}" 3600 "oldest ready job age (back-dated an hour)"
assert_match "$m" $'\n''pgkb_jobs_table_dead_tuples [0-9]+' "dead tuples of pgkb.jobs"
xage=$(metric "$m" 'pgkb_oldest_transaction_seconds')
assert_ge "${xage%.*}" 2 "oldest open transaction age"
assert_match "$m" '# TYPE pgkb_jobs_succeeded_total counter' "TYPE lines"
assert_eq "$(metric "$m" 'pgkb_database_up')" "1" "database up"
kill "$HOLDER" 2>/dev/null

r=$(http GET /nope | tr -d '\r' | head -1)
assert_eq "$r" "HTTP/1.0 404 Not Found" "other paths: 404"
r=$(http POST /metrics | tr -d '\r' | head -1)
assert_eq "$r" "HTTP/1.0 405 Method Not Allowed" "other methods: 405"
r=$(http GET /metrics | tr -d '\r' | grep -i '^content-type')
assert_match "$r" "text/plain; version=0.0.4" "Prometheus content type"

# the metrics child is respawned; the counters live in the supervisor's mapping and survive it
mpid=$(grep -o 'started metrics (pid [0-9]*' "$T_DIR/metrics.log" | tail -1 | grep -o '[0-9]*$')
kill -KILL "$mpid"
sleep 0.5
if wait_metrics 20; then pass "metrics respawned after a kill"; else fail "metrics respawned after a kill"; fi
m=$(scrape)
assert_eq "$(metric "$m" 'pgkb_jobs_succeeded_total{kind="noop"}')" "100" "the counters survive the metrics child"
# a reload rolls the metrics child too
kill -HUP "$SUP_PID"
sleep 1
if wait_metrics 20; then pass "metrics served after a reload"; else fail "metrics served after a reload"; fi
sql "INSERT INTO pgkb.jobs(kind, payload) VALUES ('noop', '{\"log\": true}')"
wait_for "SELECT count(*) = 101 FROM pgkb.noop_log" 20 "a job after the reload"
sleep 1.5
m=$(scrape)
assert_eq "$(metric "$m" 'pgkb_jobs_succeeded_total{kind="noop"}')" "101" "counters keep counting after a reload"
assert_eq "$(printf '%s\n' "$m" | grep -c '^pgkb_worker_pool_connections{')" "2" "retired workers' slots are freed"

# the database down: the scrape still answers, with the counters and pgkb_database_up 0
as_pg "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -m immediate -w stop >/dev/null
m=$(scrape)
assert_eq "$(metric "$m" 'pgkb_database_up')" "0" "database down: pgkb_database_up 0"
assert_eq "$(metric "$m" 'pgkb_jobs_succeeded_total{kind="noop"}')" "101" "database down: the counters are still served"
pg_ctl_start
if wait_metrics 30; then pass "database back: pgkb_database_up 1"; else fail "database back: pgkb_database_up 1"; fi

kill -TERM "$SUP_PID"; wait "$SUP_PID"; rc=$?
assert_eq "$rc" "0" "supervisor with metrics exits 0 on SIGTERM"
assert_eq "$(pgrep -f "pgkb-supervisor -c $T_DIR/m.yaml" | wc -l)" "0" "no process left"
if (exec 3<>"/dev/tcp/127.0.0.1/$MPORT") 2>/dev/null; then fail "port closed after stop"; else pass "port closed after stop"; fi
assert_eq "$(grep -c 'metrics.*killed by signal' "$T_DIR/metrics.log")" "1" "only the killed metrics child died by a signal"
finish
