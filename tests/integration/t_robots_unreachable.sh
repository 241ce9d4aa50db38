#!/usr/bin/env bash
# robots.txt that cannot be read (RFC 9309: crawl nothing until it can): answering 503 for longer than
# crawl.robots_retry_for, the crawl retries it with backoff and then fails naming robots.txt, the status and
# how long it tried; a host that does not resolve fails the same way; a robots.txt that recovers within the
# bound lets the crawl go on; a robots.txt larger than crawl.max_bytes is read up to 500 KiB and obeyed.
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
  host_concurrency: 4
  timeout: 2s
  connect_timeout: 1s
  max_bytes: 2KiB
  robots_retry_for: 4s"
sup_start "$T_DIR/pgkb.yaml" sup
q() { sql "$1"; }
robots() { curl -s "$BASE/control/robots?$1" >/dev/null; }
robots_hits() { curl -s "$BASE/hits" | awk '$1 == "/robots.txt" {print $2}'; }
crawl() { # URL SOURCE: enqueues a crawl, prints its job id
	q "INSERT INTO pgkb.jobs (kind, payload) VALUES ('crawl', jsonb_build_object('url', '$1', 'source_id', '$2'))
	   RETURNING id"
}
crawl_state() { q "SELECT status || ':' || coalesce(error, '') FROM pgkb.crawls WHERE job_id = $1"; }
doc() { q "SELECT status || coalesce(':' || error, '') FROM pgkb.documents WHERE source_id = '$1' AND url = '$2'"; }

# --- 503 for longer than robots_retry_for: the crawl fails, and says why
robots 503
start=$(date +%s.%N)
id=$(crawl "$BASE/calm/" down)
wait_for "SELECT status <> 'running' FROM pgkb.crawls WHERE job_id = $id" 40 "503: the crawl ends"
took=$(python3 -c "import time; print(int((time.time() - $start) * 1000))")
st=$(crawl_state "$id")
assert_match "$st" "^failed:.*robots\.txt of $BASE unreachable: HTTP 503 \([0-9]+ attempts over [0-9.]+ s, crawl\.robots_retry_for 4s\)" \
	"503: the crawl failed, naming robots.txt, the status and how long it tried"
assert_match "$(q "SELECT state || ' ' || last_error FROM pgkb.jobs WHERE id = $id")" "^dead robots\.txt of $BASE unreachable: HTTP 503" \
	"503: the crawl job's last_error says the same"
assert_ge "$took" 4000 "503: robots.txt was retried for robots_retry_for (${took} ms)"
hits=$(robots_hits)
assert_ge "$hits" 3 "503: robots.txt asked $hits times (backoff: 1 s, 2 s, then the deadline)"
assert_eq "$(q "SELECT count(*) FROM pgkb.documents WHERE source_id = 'down'")" "0" "503: nothing crawled"
assert_match "$(cat "$T_DIR/sup.log")" "robots.txt of $BASE unreachable \(HTTP 503\), attempt 1; retrying in" \
	"503: each retry is logged"

# --- a host that does not resolve
id=$(crawl "http://pgkb-test-nowhere.invalid/" nowhere)
wait_for "SELECT status <> 'running' FROM pgkb.crawls WHERE job_id = $id" 40 "unresolvable host: the crawl ends"
assert_match "$(crawl_state "$id")" "^failed:.*robots\.txt of http://pgkb-test-nowhere\.invalid unreachable: connect: .*resolve.*attempts over" \
	"unresolvable host: the crawl failed, naming robots.txt and the DNS error"

# --- 503 twice, then robots.txt answers: the crawl goes on, and robots.txt applies
robots 503x2
id=$(crawl "$BASE/calm/" recovers)
wait_for "SELECT status <> 'running' FROM pgkb.crawls WHERE job_id = $id" 40 "recovering robots.txt: the crawl ends"
assert_eq "$(crawl_state "$id")" "done:" "recovering robots.txt: the crawl is done"
assert_eq "$(doc recovers "$BASE/calm/")" "fetched" "recovering robots.txt: the page was fetched"
assert_eq "$(doc recovers "$BASE/calm/secret")" "skipped:disallowed by robots.txt" "recovering robots.txt: and its rules obeyed"

# --- robots.txt of 560 KB with crawl.max_bytes 2KiB: the first 500 KiB are read and obeyed, the rest ignored
# (localhost: another origin than 127.0.0.1, so no cached answer)
robots huge
LBASE=http://localhost:$PORT
id=$(crawl "$LBASE/calm/" huge)
wait_for "SELECT status <> 'running' FROM pgkb.crawls WHERE job_id = $id" 40 "huge robots.txt: the crawl ends"
assert_eq "$(crawl_state "$id")" "done:" "huge robots.txt: the crawl is done"
assert_eq "$(doc huge "$LBASE/calm/")" "fetched" "huge robots.txt: the site is crawled"
assert_eq "$(doc huge "$LBASE/calm/secret")" "skipped:disallowed by robots.txt" "huge robots.txt: a rule at its top applies"
assert_eq "$(doc huge "$LBASE/calm/two")" "fetched" "huge robots.txt: a rule past 500 KiB is not read"

kill -TERM "$SUP_PID"; wait "$SUP_PID"
finish
