#!/usr/bin/env bash
# A server that trickles its answer (one byte a second) fails the fetch after crawl.low_speed_time, not after
# the whole crawl.timeout, with a reason naming the low-speed bound, so it frees its politeness slot early.
. "$(dirname "$0")/lib.sh"
pg_start
migrate
crawl_server_start

write_config "$T_DIR/pgkb.yaml" "workers:
  crawl: {processes: 1, concurrency: 4}
  ingest: {processes: 0}
  embed: {processes: 0}
crawl:
  allow_private_addresses: true
  host_delay: 0ms
  host_concurrency: 1
  timeout: 60s
  low_speed_limit: 100
  low_speed_time: 2s"
sup_start "$T_DIR/pgkb.yaml" sup
q() { sql "$1"; }

start=$(date +%s)
id=$(q "INSERT INTO pgkb.jobs (kind, payload) VALUES ('crawl', '{\"url\": \"$BASE/slow\", \"source_id\": \"drip\"}') RETURNING id")
wait_for "SELECT status = 'failed' FROM pgkb.documents WHERE source_id = 'drip' AND url = '$BASE/slow'" 45 \
	"the trickling page failed (each attempt ends after low_speed_time, not the 60 s timeout)"
took=$(( $(date +%s) - start ))
assert_match "$(q "SELECT error FROM pgkb.documents WHERE url = '$BASE/slow'")" \
	"^fetch: timeout: low-speed limit: less than 100 bytes/s for 2 s \([0-9]+ bytes received in [0-9.]+ s\) \(after [0-9]+ attempts\)" \
	"the reason names the low-speed bound"
attempts=$(grep -c '"GET /slow ' "$T_DIR/server.log")
assert_ge 40 "$took" "every attempt ($attempts) ended within seconds: ${took} s in all"
assert_ge "$attempts" 2 "the page was tried again before it failed"
wait_for "SELECT status = 'done' FROM pgkb.crawls WHERE job_id = $id" 30 "the crawl is done"
kill -TERM "$SUP_PID"; wait "$SUP_PID"
finish
