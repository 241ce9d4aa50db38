#!/usr/bin/env bash
# Queue benchmark: drain N no-op jobs with pgkb-supervisor (jobs/s, median of RUNS) and the latency from a
# single INSERT's commit to its claim (p50/p99). With --peers, also graphile-worker (PARALLELISM 1, 2, 4)
# and the pure-SQL claim ceiling on the same server, from ../shared/bench-peers.
# usage: bench/queue.sh [--peers] [N=20000] [RUNS=3]     env: PROCESSES (2), CONCURRENCY (500), BATCH (250)
. "$(dirname "$0")/lib.sh"
PEERS=0; [ "${1:-}" = --peers ] && { PEERS=1; shift; }
N=${1:-20000}; RUNS=${2:-3}
PROCESSES=${PROCESSES:-2}; CONCURRENCY=${CONCURRENCY:-500}; BATCH=${BATCH:-250}
bench_build
bench_pg_start "${BENCH_PORT:-54329}"
export PGDATABASE=pgkb_bench

cat >"$B_DIR/pgkb.yaml" <<YAML
log: {level: warn}
database: {pool_size: 3}
queue: {batch_size: $BATCH, poll_interval: 1s}
workers:
  noop: {processes: $PROCESSES, concurrency: $CONCURRENCY}
  ingest: {processes: 0}
  crawl: {processes: 0}
  embed: {processes: 0}
YAML

echo "pgkb queue benchmark: N=$N no-op jobs, $RUNS runs, $PROCESSES worker processes x concurrency $CONCURRENCY, claim batch $BATCH"
: >"$B_DIR/rates"
for r in $(seq 1 "$RUNS"); do
	sql -d postgres -c "DROP DATABASE IF EXISTS pgkb_bench" -c "CREATE DATABASE pgkb_bench"
	"$BIN/pgkb" migrate >/dev/null
	"$BIN/pgkb-supervisor" -c "$B_DIR/pgkb.yaml" 2>"$B_DIR/sup.log" & sup=$!; B_PIDS+=("$sup")
	until [ "$(sql -c "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'LISTEN%'")" -ge "$PROCESSES" ]; do sleep 0.05; done
	sql -c "INSERT INTO pgkb.jobs(kind, payload) SELECT 'noop', jsonb_build_object('n', g) FROM generate_series(1, $N) g"
	until [ "$(sql -c "SELECT NOT EXISTS (SELECT 1 FROM pgkb.jobs)")" = t ]; do sleep 0.25; done
	# processing rate: first claim to last completion, from the history the queue keeps
	read -r secs done_n < <(sql -F ' ' -c "SELECT extract(epoch FROM max(finished_at) - min(started_at)), count(*) FROM pgkb.job_history")
	rate=$(awk -v n="$done_n" -v s="$secs" 'BEGIN{printf "%.0f", n/s}')
	echo "run $r: $done_n jobs in ${secs}s -> $rate jobs/s"
	echo "$rate" >>"$B_DIR/rates"
	kill -TERM "$sup"; wait "$sup" || true
done
echo "pgkb drain jobs/s: median $(median <"$B_DIR/rates")  (runs: $(tr '\n' ' ' <"$B_DIR/rates"))"

# Latency: a trickle of single-row INSERTs (autocommit), 20 ms apart, one worker idle and listening.
sql -d postgres -c "DROP DATABASE IF EXISTS pgkb_bench" -c "CREATE DATABASE pgkb_bench"
"$BIN/pgkb" migrate >/dev/null
sed -i "s/processes: $PROCESSES,/processes: 1,/" "$B_DIR/pgkb.yaml"
"$BIN/pgkb-supervisor" -c "$B_DIR/pgkb.yaml" 2>"$B_DIR/sup.log" & sup=$!; B_PIDS+=("$sup")
until [ "$(sql -c "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'LISTEN%'")" -ge 1 ]; do sleep 0.05; done
sql -c "CREATE TABLE bench_commits (id bigint, committed_at timestamptz)"
for i in $(seq 1 300); do
	# The second statement starts right after the INSERT's commit returned to the client.
	echo "INSERT INTO pgkb.jobs(kind) VALUES ('noop') RETURNING id \\gset"
	echo "INSERT INTO bench_commits VALUES (:id, clock_timestamp()); SELECT pg_sleep(0.02);"
done | psql -qX >/dev/null
until [ "$(sql -c "SELECT NOT EXISTS (SELECT 1 FROM pgkb.jobs)")" = t ]; do sleep 0.05; done
sql -F ' ' -c "WITH l AS (SELECT greatest(0, extract(epoch FROM h.started_at - c.committed_at) * 1000) AS ms
	                       FROM pgkb.job_history h JOIN bench_commits c USING (id))
	SELECT 'commit-to-claim latency (' || count(*) || ' single INSERTs, 20 ms apart): p50 ' || round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 2)
	    || ' ms, p99 ' || round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 2) || ' ms, max ' || round(max(ms)::numeric, 2) || ' ms' FROM l"
kill -TERM "$sup"; wait "$sup" || true

if [ "$PEERS" = 1 ]; then
	PEERS_SRC=${PEERS_SRC:-$SRC/../shared/bench-peers}
	[ -d "$PEERS_SRC" ] || { echo "no $PEERS_SRC: skipping peers" >&2; exit 0; }
	PEERS_DIR=$("$PEERS_SRC/install-peers.sh")
	for par in 1 2 4; do
		echo "--- graphile-worker, PARALLELISM=$par"
		PEERS_DIR=$PEERS_DIR PARALLELISM=$par "$PEERS_SRC/peer-bench-graphile.sh" "$N" "$RUNS" | tail -n 3
	done
	echo "--- pure-SQL claim ceiling (pgbench)"
	"$PEERS_SRC/claim-baseline.sh" "$N" "$RUNS" "2" "1 10 100"
fi
