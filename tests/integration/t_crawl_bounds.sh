#!/usr/bin/env bash
# Hostile discovery and long URLs (bounds_server.py on loopback). A sitemap index of 50,000 gzip indexes of
# 50,000 entries each: the discovery stops at its bounds (files, index depth, entries per file, URLs), the URLs
# within them are crawled, pgkb.crawls.discovery_stopped names the bounds, and the crawl job keeps its lease
# (2 s: a loop blocked for longer would lose it and the job would be rescued). 50,000 urlsets of 50,000 foreign
# URLs: the discovery stops at its time limit. A 6,000-character link on a page of 20 links and in a sitemap is
# skipped and counted; everything else is crawled and the crawl ends done. Jobs whose own URL is too long fail
# clearly.
. "$(dirname "$0")/lib.sh"
pg_start
migrate

# bounds_start MODE: bounds_server.py MODE on a free port; sets PORT and BASE.
bounds_start() {
	local tries
	for tries in 1 2 3 4 5; do
		PORT=$(free_port)
		python3 "$(dirname "$0")/bounds_server.py" "$PORT" "$1" 2>"$T_DIR/server-$1.log" &
		T_PIDS+=("$!")
		wait_port "$PORT" "$!" && break
		[ "$tries" = 5 ] && { fail "bounds_server.py did not start"; exit 1; }
	done
	BASE=http://127.0.0.1:$PORT
}
q() { sql "$1"; }
fetched() { q "SELECT count(*) FROM pgkb.documents WHERE source_id = '$1' AND status NOT IN ('queued', 'failed', 'skipped') AND url LIKE '$BASE$2'"; }

LEASE=2s write_config "$T_DIR/bomb.yaml" "workers:
  crawl: {processes: 1, concurrency: 16}
  ingest: {processes: 1}
  embed: {processes: 0}
crawl:
  allow_private_addresses: true
  host_delay: 0ms
  host_concurrency: 8
  sitemap_max_files: 6
  sitemap_max_depth: 1
  sitemap_max_entries: 25
  discovery_max_urls: 40"
bounds_start bomb
sup_start "$T_DIR/bomb.yaml" bomb
start=$(date +%s)
id=$(q "INSERT INTO pgkb.jobs (kind, payload) VALUES ('crawl', '{\"url\": \"$BASE/\", \"source_id\": \"bomb\"}') RETURNING id")
wait_for "SELECT status = 'done' FROM pgkb.crawls WHERE job_id = $id" 90 "crawl over the sitemap bomb done"
log "crawl done in $(( $(date +%s) - start )) s"
assert_eq "$(q "SELECT state || ' ' || attempts FROM pgkb.job_history WHERE id = $id")" "succeeded 1" \
	"the crawl job succeeded on its first attempt (its lease was renewed throughout)"
assert_eq "$(grep -c "rescued job $id " "$T_DIR/bomb.log")" "0" "the crawl job was never rescued"
stopped=$(q "SELECT discovery_stopped FROM pgkb.crawls WHERE job_id = $id")
assert_match "$stopped" "crawl\.sitemap_max_files: at most 6 sitemap files per crawl; more were listed \(first left out: $BASE/sm/idx-3\.xml\.gz\)" \
	"discovery_stopped names the file bound"
assert_match "$stopped" "crawl\.sitemap_max_depth" "... and the index depth bound"
assert_match "$stopped" "crawl\.sitemap_max_entries: $BASE/sitemap\.xml has more than 25 entries" "... and the per-file entry bound"
assert_match "$stopped" "crawl\.discovery_max_urls: 40 URLs" "... and the URL bound"
assert_match "$(grep "discovery bounded by" "$T_DIR/bomb.log" | head -1)" "crawl [0-9]+: discovery bounded by crawl\." "a bound hit is logged"
assert_eq "$(grep -c '^GET /sm/' "$T_DIR/server-bomb.log")" "5" "5 sitemaps fetched besides /sitemap.xml (6 in all)"
assert_eq "$(grep -c '^GET /sm/idx-3' "$T_DIR/server-bomb.log")" "0" "no sitemap past the bound requested"
assert_eq "$(fetched bomb '/p/a%')" "25" "the 25 URLs read from set-0.xml crawled"
assert_eq "$(fetched bomb '/p/b%')" "15" "15 from set-1.xml.gz, up to 40 discovered URLs"
assert_eq "$(fetched bomb '/l/%')" "19" "the root page's 19 links crawled, its 6,000-character link skipped"
assert_eq "$(q "SELECT count(*) FROM pgkb.documents WHERE source_id = 'bomb' AND status IN ('failed', 'skipped')")" "0" \
	"no page failed"
assert_eq "$(q "SELECT count(*) FROM pgkb.documents WHERE length(url) > 2048")" "0" "no URL over 2,048 bytes reached the database"
assert_match "$(grep "fetch $BASE/: " "$T_DIR/bomb.log")" "1 links longer than 2048 bytes skipped" "the skipped link is counted and logged for its page"
assert_match "$(cat "$T_DIR/bomb.log")" "crawl $(q "SELECT id FROM pgkb.crawls WHERE job_id = $id"): 1 discovered URLs longer than 2048" \
	"the sitemap's long URL is counted and logged"

# Jobs whose own URL is over the limit fail with a readable reason; the worker lives on.
long=$(printf 'z%.0s' $(seq 1 2100))
cid=$(q "INSERT INTO pgkb.jobs (kind, payload) VALUES ('crawl', '{\"url\": \"$BASE/$long\"}') RETURNING id")
iid=$(q "INSERT INTO pgkb.jobs (kind, payload) VALUES ('ingest', '{\"content\": \"# hi\", \"url\": \"https://e.com/$long\"}') RETURNING id")
fid=$(q "INSERT INTO pgkb.jobs (kind, payload) VALUES ('fetch', '{\"crawl_id\": 1, \"url\": \"$BASE/$long\"}') RETURNING id")
wait_for "SELECT count(*) = 3 FROM pgkb.jobs WHERE id IN ($cid, $iid, $fid) AND state = 'dead'" 20 "long-URL jobs dead"
assert_match "$(q "SELECT last_error FROM pgkb.jobs WHERE id = $cid")" '^crawl: "url" is 2[0-9]+ bytes long; the limit is 2048' "crawl job: clear last_error"
assert_match "$(q "SELECT last_error FROM pgkb.jobs WHERE id = $iid")" '^ingest: "url" is 2[0-9]+ bytes long; the limit is 2048' "ingest job: clear last_error"
assert_match "$(q "SELECT last_error FROM pgkb.jobs WHERE id = $fid")" '^fetch: "url" is 2[0-9]+ bytes long; the limit is 2048' "fetch job: clear last_error"
assert_eq "$(q "SELECT count(*) FROM pgkb.crawls WHERE root_url LIKE '%zzzz%'")" "0" "no crawl row for the long URL"

# --- one long URL on a page of 20 links and one in a sitemap of 12, without any bound in the way; a redirect to
# a long URL fails its page
bounds_start long
id=$(q "INSERT INTO pgkb.jobs (kind, payload) VALUES ('crawl', '{\"url\": \"$BASE/\", \"source_id\": \"long\"}') RETURNING id")
wait_for "SELECT status = 'done' FROM pgkb.crawls WHERE job_id = $id" 60 "crawl with long URLs done"
assert_eq "$(q "SELECT state || ' ' || attempts FROM pgkb.job_history WHERE id = $id")" "succeeded 1" "its crawl job succeeded at once"
assert_eq "$(q "SELECT discovery_stopped IS NULL FROM pgkb.crawls WHERE job_id = $id")" "t" "no bound was hit"
assert_eq "$(fetched long '/l/%')" "19" "the page's 19 other links crawled"
assert_eq "$(fetched long '/p/a%')" "10" "the sitemap's 10 other URLs crawled"
assert_eq "$(fetched long '/')" "1" "the page with the long link crawled"
assert_eq "$(q "SELECT string_agg(url, ' ') FROM pgkb.documents WHERE source_id = 'long' AND status IN ('queued', 'failed', 'skipped')")" \
	"$BASE/redir" "no page failed or was left behind but the one redirected to a long URL"
assert_match "$(q "SELECT error FROM pgkb.documents WHERE source_id = 'long' AND url = '$BASE/redir'")" \
	"^fetch: redirected to a URL of 60[0-9]{2} bytes; the limit is 2048$" "... which failed with the reason"
kill -TERM "$SUP_PID"; wait "$SUP_PID"

# --- the time bound: every urlset is read to its end and yields nothing
LEASE=2s write_config "$T_DIR/slow.yaml" "workers:
  crawl: {processes: 1, concurrency: 8}
  ingest: {processes: 0}
  embed: {processes: 0}
crawl:
  allow_private_addresses: true
  host_delay: 0ms
  sitemap_max_files: 1000
  discovery_timeout: 3s"
bounds_start slow
sup_start "$T_DIR/slow.yaml" slow
start=$(date +%s)
id=$(q "INSERT INTO pgkb.jobs (kind, payload) VALUES ('crawl', '{\"url\": \"$BASE/\", \"source_id\": \"slow\"}') RETURNING id")
wait_for "SELECT status = 'done' FROM pgkb.crawls WHERE job_id = $id" 60 "crawl over endless urlsets done"
took=$(( $(date +%s) - start ))
log "crawl done in $took s; $(grep -c '^GET /sm/u-' "$T_DIR/server-slow.log") urlsets read"
assert_eq "$(q "SELECT state || ' ' || attempts FROM pgkb.job_history WHERE id = $id")" "succeeded 1" \
	"the crawl job succeeded on its first attempt"
stopped=$(q "SELECT discovery_stopped FROM pgkb.crawls WHERE job_id = $id")
assert_match "$stopped" "crawl\.discovery_timeout: discovery ran past its time limit" "discovery_stopped names the time bound"
assert_match "$stopped" "crawl\.sitemap_max_files: at most 1000 sitemap files" "... and the file bound (of the 50,000 listed)"
assert_ge "$(grep -c '^GET /sm/u-' "$T_DIR/server-slow.log")" 1 "50,000-entry urlsets read meanwhile"
assert_ge 20 "$took" "... and the crawl ended soon after the time limit"
assert_eq "$(fetched slow '/')" "1" "the root page crawled"
kill -TERM "$SUP_PID"; wait "$SUP_PID"

# --- a drain in the middle of reading a sitemap hands the crawl job back (its slices stop, nothing leaks)
LOG_LEVEL=debug DRAIN=1s LEASE=2s write_config "$T_DIR/drain.yaml" "workers:
  crawl: {processes: 1, concurrency: 8}
  ingest: {processes: 0}
  embed: {processes: 0}
crawl:
  allow_private_addresses: true
  host_delay: 0ms
  discovery_timeout: 1h"
sup_start "$T_DIR/drain.yaml" drain
id=$(q "INSERT INTO pgkb.jobs (kind, payload) VALUES ('crawl', '{\"url\": \"$BASE/\", \"source_id\": \"drain\"}') RETURNING id")
n0=$(grep -c "^GET /sm/u-" "$T_DIR/server-slow.log")
for _ in $(seq 1 200); do [ "$(grep -c "^GET /sm/u-" "$T_DIR/server-slow.log")" -gt "$n0" ] && break; sleep 0.1; done
sleep 0.3 # reading a 50,000-entry urlset takes longer than this
kill -TERM "$SUP_PID"; wait "$SUP_PID"
assert_eq "$?" "0" "the supervisor drained and stopped cleanly"
assert_eq "$(q "SELECT state FROM pgkb.jobs WHERE id = $id")" "queued" "the crawl job, reading a sitemap, was handed back"
assert_match "$(cat "$T_DIR/drain.log")" "crawl job $id: parsing -> abandoned" "... from its parsing stage"
finish
