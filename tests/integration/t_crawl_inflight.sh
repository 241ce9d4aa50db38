#!/usr/bin/env bash
# Per-host concurrency across two crawl worker processes: with host_concurrency 3 and no delay, a server whose
# pages take 150 ms each never sees more than 3 of pgkb's requests in flight at once, and does see several
# (slots are granted several per round trip and passed from one request to the next).
. "$(dirname "$0")/lib.sh"
pg_start
migrate
crawl_server_start
write_config "$T_DIR/pgkb.yaml" "workers:
  crawl: {processes: 2, concurrency: 8}
  ingest: {processes: 0}
  embed: {processes: 0}
crawl:
  allow_private_addresses: true
  host_delay: 0ms
  host_concurrency: 3"
sup_start "$T_DIR/pgkb.yaml" sup
wait_for "SELECT count(*) = 2 FROM pg_stat_activity WHERE application_name = 'pgkb-crawl' AND query LIKE 'LISTEN%'" 20 "two crawl workers connected"
id=$(sql "INSERT INTO pgkb.jobs (kind, payload) VALUES ('crawl', '{\"url\": \"$BASE/wide/\", \"source_id\": \"wide\"}') RETURNING id")
wait_for "SELECT status = 'done' FROM pgkb.crawls WHERE job_id = $id" 60 "crawl done"
assert_eq "$(sql "SELECT count(*) FROM pgkb.documents WHERE source_id = 'wide' AND status = 'fetched'")" "21" "every page fetched"
most=$(curl -s "$BASE/wide-max")
log "most requests in flight at once: $most"
assert_ge 3 "$most" "never more than host_concurrency (3) requests in flight at once (saw $most)"
assert_ge "$most" 2 "requests ran in parallel (saw $most at once)"
kill -TERM "$SUP_PID"; wait "$SUP_PID"
finish
