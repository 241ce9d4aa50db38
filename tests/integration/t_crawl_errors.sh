#!/usr/bin/env bash
# Fetch failures against a misbehaving server (crawl_server.py): a redirect loop, a 1 GB body (size cap), a
# one-byte-per-second body (timeout, retried, then failed), a 500 then 200 (the retry succeeds), a 403, and a
# private address refused when crawl.allow_private_addresses is off.
. "$(dirname "$0")/lib.sh"
pg_start
migrate
crawl_server_start

write_config "$T_DIR/pgkb.yaml" "workers:
  crawl: {processes: 1, concurrency: 8}
  ingest: {processes: 0}
  embed: {processes: 0}
crawl:
  allow_private_addresses: true
  host_delay: 0ms
  host_concurrency: 8
  timeout: 2s
  connect_timeout: 1s
  max_bytes: 1MB
  max_redirects: 5"
sup_start "$T_DIR/pgkb.yaml" sup
q() { sql "$1"; }
doc() { q "SELECT status || coalesce(':' || error, '') FROM pgkb.documents WHERE source_id = '$1' AND url = '$BASE$2'"; }

start=$(date +%s)
id=$(q "INSERT INTO pgkb.jobs (kind, payload) VALUES ('crawl', '{\"url\": \"$BASE/\", \"source_id\": \"bad\"}') RETURNING id")
wait_for "SELECT count(*) = 1 FROM pgkb.documents WHERE source_id = 'bad' AND url = '$BASE/huge' AND status = 'failed'" 20 "1 GB body failed"
assert_match "$(doc bad /huge)" "^failed:fetch: too large" "1 GB body: failed with the size error"
assert_ge 15 "$(( $(date +%s) - start ))" "... within seconds"
assert_match "$(doc bad /loop)" "^failed:fetch: too many redirects|^failed:fetch: redirects" "redirect loop fails"
assert_match "$(q "SELECT redirects::text FROM pgkb.documents WHERE url = '$BASE/loop'")" "loop2" "redirect chain recorded"
wait_for "SELECT count(*) = 1 FROM pgkb.documents WHERE url = '$BASE/flaky' AND status = 'fetched'" 30 "flaky page fetched"
assert_eq "$(q "SELECT attempts FROM pgkb.job_history WHERE kind = 'fetch' AND payload->>'url' = '$BASE/flaky'")" "2" "500 then 200: the retry succeeded"
assert_eq "$(doc bad /forbidden)" "failed:HTTP 403" "403 fails the document"
wait_for "SELECT status = 'done' FROM pgkb.crawls WHERE job_id = $id" 60 "crawl with the slow page done"
assert_match "$(doc bad /slow)" "^failed:fetch: timeout.*after 3 attempts" "one byte per second: timed out on every attempt, then failed"
assert_eq "$(q "SELECT count(*) FROM pgkb.jobs WHERE kind = 'fetch'")" "0" "no fetch job left behind"
kill -TERM "$SUP_PID"; wait "$SUP_PID"

# --- private addresses refused when the configuration does not allow them
write_config "$T_DIR/strict.yaml" "workers:
  crawl: {processes: 1, concurrency: 4}
  ingest: {processes: 0}
  embed: {processes: 0}
crawl:
  host_delay: 0ms"
sup_start "$T_DIR/strict.yaml" strict
id=$(q "INSERT INTO pgkb.jobs (kind, payload) VALUES ('crawl', '{\"url\": \"$BASE/\", \"source_id\": \"strict\"}') RETURNING id")
wait_for "SELECT status = 'done' FROM pgkb.crawls WHERE job_id = $id" 30 "strict crawl done"
assert_match "$(doc strict /)" "^failed:fetch: private address" "loopback target refused with the reason"
assert_eq "$(grep -c '"GET / ' "$T_DIR/server.log")" "1" "the refused page was never requested again"
kill -TERM "$SUP_PID"; wait "$SUP_PID"
finish
