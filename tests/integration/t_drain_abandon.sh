#!/usr/bin/env bash
# The drain timeout hands back a fetch job in the middle of its GET (a page that sends one byte a second): the
# job leaves through the handler's abandon() hook (its stage log says getting -> abandoned), the worker exits
# cleanly within the drain, and the job is queued again without its attempt counted.
. "$(dirname "$0")/lib.sh"
pg_start
migrate
crawl_server_start
LOG_LEVEL=debug DRAIN=1s write_config "$T_DIR/pgkb.yaml" "workers:
  crawl: {processes: 1, concurrency: 4}
  ingest: {processes: 0}
  embed: {processes: 0}
crawl:
  allow_private_addresses: true
  host_delay: 0ms
  timeout: 5m"
sup_start "$T_DIR/pgkb.yaml" sup
sql "INSERT INTO pgkb.jobs (kind, payload) VALUES ('crawl', '{\"url\": \"$BASE/slow\", \"source_id\": \"slow\", \"max_depth\": 0}')"
wait_for "SELECT count(*) = 1 FROM pgkb.jobs WHERE kind = 'fetch' AND state = 'running'" 30 "the fetch of /slow is running"
id=$(sql "SELECT id FROM pgkb.jobs WHERE kind = 'fetch'")
sleep 2
t0=$(date +%s)
kill -TERM "$SUP_PID"; wait "$SUP_PID"; rc=$?
took=$(( $(date +%s) - t0 ))
assert_eq "$rc" "0" "drain timeout: the supervisor exits 0"
assert_ge 8 "$took" "stopped within seconds ($took s), not after the 100 s page"
assert_match "$(cat "$T_DIR/sup.log")" "fetch job $id: getting -> abandoned" "the fetch was abandoned in the middle of its GET"
assert_eq "$(grep -c 'illegal stage change' "$T_DIR/sup.log")" "0" "no illegal stage change"
assert_eq "$(sql "SELECT state || ',' || attempts || ',' || (lease_owner IS NULL) FROM pgkb.jobs WHERE id = $id")" \
	"queued,0,true" "the fetch job was handed back without counting the attempt"
finish
