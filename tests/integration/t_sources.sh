#!/usr/bin/env bash
# Sources as objects (schema/083, cmd/pgkb/cli_sources.c): pgkb sources, source show and set (and their SQL
# functions); pgkb source delete while the source's crawl runs in two crawl processes and another source's
# ingest runs (afterwards no row and no job of it anywhere, the crawl does not come back, the other source
# finishes); a killed deletion resumed (writes for the source refused meanwhile); CALL pgkb.source_delete.
. "$(dirname "$0")/lib.sh"

pg_start
migrate
PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
SITE=$T_DIR/site
mkdir -p "$SITE"
# 400 pages, each linking to the next five: a crawl that takes a while at the politeness below
for i in $(seq 0 399); do
	links=""
	for k in 1 2 3 4 5; do links="$links <a href=\"/p$(((i + k) % 400)).html\">next</a>"; done
	printf '<!doctype html><html><head><title>Page %d</title></head><body><h1>Page %d</h1><p>Page %d is about otters and their dams, number %d.</p>\n<pre><code>otter --swim %d --dive deep --hold-breath long\n</code></pre>%s</body></html>' \
		"$i" "$i" "$i" "$i" "$i" "$links" >"$SITE/p$i.html"
done
cp "$SITE/p0.html" "$SITE/index.html"
chmod -R a+rX "$SITE"
nginx_serve "$SITE" "$PORT" || { fail "nginx did not start"; cat "$T_DIR/nginx/error.log"; exit 1; }
write_config "$T_DIR/pgkb.yaml" "workers:
  crawl: {processes: 2, concurrency: 4}
  ingest: {processes: 1, concurrency: 2}
  embed: {processes: 0}
  noop: {processes: 0}
crawl:
  allow_private_addresses: true
  host_delay: 100ms
  host_concurrency: 2
ingest:
  code_min_length: 10"
sup_start "$T_DIR/pgkb.yaml" sup
q() { sql "$1"; }
inline() { # SOURCE URL TEXT
	q "INSERT INTO pgkb.jobs (kind, payload) VALUES ('ingest', jsonb_build_object('content', '$3', 'url', '$2', 'title', 'Note', 'source_id', '$1'))" >/dev/null
}
wait_for "SELECT count(*) = 3 FROM pg_stat_activity WHERE query LIKE 'LISTEN%'" 20 "workers up"
workers=$(worker_pids "$SUP_PID")

# --- list, show, set
inline notes notes://a "Beavers build dams."
inline notes notes://b "Otters hold stones."
wait_for "SELECT count(*) = 2 FROM pgkb.documents WHERE source_id = 'notes' AND status = 'chunked'" 30 "two notes ingested"
out=$("$PGKB" sources 2>&1)
assert_match "$out" "notes +Note +inline +chunked 2 +2 " "pgkb sources: id, title, type, documents by status, chunks"
assert_eq "$(q "SELECT documents::text || ' ' || chunks || ' ' || vectors::text FROM pgkb.source_list('notes')")" '{"chunked": 2} 2 {}' "pgkb.source_list()"
out=$("$PGKB" source set notes --title "Field notes" --tag wildlife --tag rivers --knowledge-type business --update-frequency 7 2>&1)
assert_eq "$out" "source notes updated" "pgkb source set"
assert_eq "$(q "SELECT title || ' ' || (metadata->'tags')::text || ' ' || (metadata->>'knowledge_type') || ' ' || (metadata->>'update_frequency') FROM archon_sources WHERE source_id = 'notes'")" \
	'Field notes ["wildlife", "rivers"] business 7' "title, tags, knowledge type and update frequency set"
out=$("$PGKB" source show notes 2>&1)
assert_match "$out" "title +Field notes" "pgkb source show: the title"
assert_match "$out" "documents +\\{\"chunked\": 2\\}" "pgkb source show: documents by status"
out=$("$PGKB" source set notes --knowledge-type gossip 2>&1); rc=$?
assert_eq "$rc" "1" "a bad knowledge type fails"
assert_match "$out" "knowledge type must be technical or business" "... saying why"
out=$("$PGKB" source set notes --update-frequency 1e20 2>&1)
assert_match "$out" "update frequency must be a number of days from 0 to 36500" "an update frequency out of range is refused"
out=$("$PGKB" source show nosuch 2>&1); rc=$?
assert_eq "$rc:$out" "1:pgkb: source nosuch does not exist" "show of an unknown source"
out=$("$PGKB" source delete nosuch 2>&1); rc=$?
assert_eq "$rc:$out" "1:pgkb: source delete: pgkb: source nosuch does not exist" "delete of an unknown source"
assert_eq "$(q "SELECT pgkb.source_set('notes', p_title => 'Notes')")" "t" "pgkb.source_set() from SQL"

# --- deletion while the source's crawl runs in two processes and another source's ingest runs
crawl_job=$(q "INSERT INTO pgkb.jobs (kind, payload) VALUES ('crawl', jsonb_build_object('url', '$BASE/', 'source_id', 'site', 'max_depth', 500)) RETURNING id")
wait_for "SELECT count(*) >= 40 FROM pgkb.documents WHERE source_id = 'site' AND status <> 'queued'" 60 "the crawl is under way"
wait_for "SELECT count(DISTINCT lease_owner) = 2 FROM pgkb.jobs WHERE kind = 'fetch' AND state = 'running'" 30 "fetches running in both crawl processes"
q "INSERT INTO pgkb.jobs (kind, payload) SELECT 'ingest', jsonb_build_object('content', 'Note ' || i || ' about herons and their nests.', 'url', 'other://n' || i, 'source_id', 'other') FROM generate_series(1, 40) i"
assert_eq "$(q "SELECT status FROM pgkb.crawls WHERE job_id = $crawl_job")" "running" "the crawl is running when the deletion starts"
out=$("$PGKB" source delete site 2>&1); rc=$?
assert_eq "$rc" "0" "pgkb source delete site succeeds"
assert_match "$out" "source site deleted: [0-9]+ rows in [0-9]+ transactions" "... and says how much it removed"
left() {
	q "SELECT (SELECT count(*) FROM archon_sources WHERE source_id = 'site') || ' '
	       || (SELECT count(*) FROM pgkb.documents WHERE source_id = 'site') || ' '
	       || (SELECT count(*) FROM pgkb.crawls WHERE source_id = 'site') || ' '
	       || (SELECT count(*) FROM archon_page_metadata WHERE source_id = 'site' OR url LIKE '$BASE/%') || ' '
	       || (SELECT count(*) FROM archon_crawled_pages WHERE source_id = 'site' OR url LIKE '$BASE/%') || ' '
	       || (SELECT count(*) FROM archon_code_examples WHERE source_id = 'site' OR url LIKE '$BASE/%') || ' '
	       || (SELECT count(*) FROM pgkb.jobs j WHERE kind IN ('crawl', 'fetch')
	              OR (kind IN ('ingest', 'embed') AND payload ? 'document_id'
	                  AND NOT EXISTS (SELECT 1 FROM pgkb.documents d
	                                   WHERE d.id = (j.payload->>'document_id')::bigint AND d.source_id <> 'site'))) || ' '
	       || (SELECT count(*) FROM pgkb.source_deletions)"
}
assert_eq "$(left)" "0 0 0 0 0 0 0 0" "no source, document, crawl, page, chunk, code example or job of it left"
[ "$(left)" = "0 0 0 0 0 0 0 0" ] || q "SELECT id, kind, state, payload, last_error FROM pgkb.jobs WHERE payload->>'source_id' IS DISTINCT FROM 'other'"
assert_match "$(q "SELECT string_agg(DISTINCT last_error, ',') FROM pgkb.job_history WHERE kind = 'fetch' AND state = 'cancelled'")" "^source site deleted" "its fetch jobs are in the history as cancelled"
sleep 4
assert_eq "$(left)" "0 0 0 0 0 0 0 0" "and 4 s later the crawl has not come back"
wait_for "SELECT count(*) = 40 FROM pgkb.documents WHERE source_id = 'other' AND status = 'chunked'" 60 "the other source's 40 notes ingested"
assert_eq "$(worker_pids "$SUP_PID")" "$workers" "the workers are the same processes"

# --- a killed deletion, resumed; writes for the source are refused meanwhile
q "INSERT INTO archon_sources (source_id, source_url) VALUES ('big', 'inline')"
q "INSERT INTO pgkb.documents (source_id, url, kind, status) SELECT 'big', 'big://' || d, 'inline', 'ready' FROM generate_series(1, 200) d"
q "INSERT INTO archon_page_metadata (source_id, url, full_content, word_count, char_count) SELECT 'big', 'big://' || d, 'x', 1, 1 FROM generate_series(1, 200) d"
q "INSERT INTO archon_crawled_pages (url, chunk_number, content, source_id) SELECT 'big://' || (n / 100 + 1), n % 100, 'chunk ' || n, 'big' FROM generate_series(0, 19999) n"
"$PGKB" source delete big --batch 20 >"$T_DIR/delete1.log" 2>&1 &
del=$!
wait_for "SELECT deleted >= 100 FROM pgkb.source_deletions WHERE source_id = 'big'" 30 "the first run is under way"
kill -KILL "$del"; wait "$del" 2>/dev/null
assert_eq "$(q "SELECT count(*) FROM archon_sources WHERE source_id = 'big'") $(q "SELECT count(*) FROM pgkb.source_deletions WHERE source_id = 'big'") $(q "SELECT (SELECT count(*) FROM archon_crawled_pages WHERE source_id = 'big') + (SELECT count(*) FROM pgkb.documents WHERE source_id = 'big') > 0")" "1 1 t" "the killed run left the source half deleted, and marked"
assert_match "$("$PGKB" sources 2>&1)" "big .* deleting" "pgkb sources shows it as being deleted"
inline big big://new "A late note."
wait_for "SELECT count(*) = 1 FROM pgkb.jobs WHERE kind = 'ingest' AND payload->>'source_id' = 'big' AND last_error IS NOT NULL" 20 "a late ingest into it fails"
assert_match "$(q "SELECT last_error FROM pgkb.jobs WHERE payload->>'source_id' = 'big'")" "source big is being deleted" "... saying the source is being deleted"
assert_eq "$(q "SELECT count(*) FROM pgkb.documents WHERE url = 'big://new'")" "0" "... and writes nothing"
out=$("$PGKB" source delete big 2>&1); rc=$?
assert_eq "$rc" "0" "running the deletion again finishes it"
assert_eq "$(q "SELECT (SELECT count(*) FROM archon_sources WHERE source_id = 'big') + (SELECT count(*) FROM pgkb.documents WHERE source_id = 'big') + (SELECT count(*) FROM archon_page_metadata WHERE source_id = 'big') + (SELECT count(*) FROM archon_crawled_pages WHERE source_id = 'big') + (SELECT count(*) FROM pgkb.jobs WHERE payload->>'source_id' = 'big')")" "0" "nothing of it is left"
inline big big://again "A note after the deletion."
wait_for "SELECT count(*) = 1 FROM pgkb.documents WHERE source_id = 'big' AND status = 'chunked'" 20 "a deleted source id can be used again"

# --- from SQL only: CALL pgkb.source_delete
assert_eq "$(q "CALL pgkb.source_delete('notes', 1)" 2>&1)$(q "SELECT count(*) FROM archon_sources WHERE source_id = 'notes'")$(q "SELECT count(*) FROM archon_crawled_pages WHERE source_id = 'notes'")" "00" "CALL pgkb.source_delete() removes a source"
assert_eq "$(q "SELECT count(*) FROM archon_sources WHERE source_id = 'other'")" "1" "other sources stay"
finish
