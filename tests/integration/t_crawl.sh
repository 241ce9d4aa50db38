#!/usr/bin/env bash
# Crawl worker against a fixture site on a private nginx: robots.txt rules and Crawl-delay, a sitemap index
# with a gzipped sitemap, llms.txt, depth and page limits, include/exclude, unsupported types, the CLI, a
# malformed payload, and a re-crawl: ETag answered 304 (no new ingest job) and a removed page (gone).
. "$(dirname "$0")/lib.sh"

pg_start
migrate
PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
SITE=$T_DIR/site
cp -r "$PGKB_TEST_DATA/site" "$SITE"
chmod -R a+rX "$SITE"
for f in robots.txt sitemap_index.xml sitemap-pages.xml llms.txt; do sed -i "s|@BASE@|$BASE|g" "$SITE/$f"; done
gzip -n "$SITE/sitemap-pages.xml"
nginx_serve "$SITE" "$PORT" || { fail "nginx did not start"; cat "$T_DIR/nginx/error.log"; exit 1; }

write_config "$T_DIR/pgkb.yaml" "workers:
  crawl: {processes: 1, concurrency: 8}
  ingest: {processes: 0}
  embed: {processes: 0}
crawl:
  allow_private_addresses: true
  host_delay: 0ms
  host_concurrency: 4
  timeout: 10s"
sup_start "$T_DIR/pgkb.yaml" sup
q() { sql "$1"; }
doc() { q "SELECT status || coalesce(':' || error, '') FROM pgkb.documents WHERE source_id = '$1' AND url = '$BASE$2'"; }

# --- first crawl: the default scope (max_depth 3)
id=$(q "INSERT INTO pgkb.jobs (kind, payload) VALUES ('crawl', jsonb_build_object('url', '$BASE/', 'source_id', 'site', 'knowledge_type', 'technical', 'tags', jsonb_build_array('fixture'))) RETURNING id")
wait_for "SELECT status = 'done' FROM pgkb.crawls WHERE job_id = $id" 60 "first crawl done"
crawl=$(q "SELECT id FROM pgkb.crawls WHERE job_id = $id")
assert_eq "$(q "SELECT source_url || ' ' || source_display_name || ' ' || (metadata->>'knowledge_type') || ' ' || (metadata->'tags'->>0) FROM archon_sources WHERE source_id = 'site'")" \
	"$BASE/ 127.0.0.1:$PORT technical fixture" "archon_sources row with display name and metadata"
assert_eq "$(doc site /)" "fetched" "root page fetched"
assert_eq "$(q "SELECT http_status || ' ' || (etag IS NOT NULL) || ' ' || (last_modified IS NOT NULL) || ' ' || (content_hash = encode(sha256(body), 'hex')) || ' ' || content_type FROM pgkb.documents WHERE url = '$BASE/'")" \
	"200 true true true text/html" "status, validators, content hash and type stored"
assert_eq "$(doc site /a.html),$(doc site /a2.html),$(doc site /a3.html),$(doc site /a4.html)" "fetched,fetched,fetched," "links followed to max_depth 3 and no further"
assert_eq "$(q "SELECT depth FROM pgkb.documents WHERE url = '$BASE/a3.html'")" "3" "depth recorded"
assert_eq "$(doc site /docs/d1.html)" "fetched" "fragment dropped from a link"
assert_eq "$(doc site /private/secret.html)" "skipped:disallowed by robots.txt" "robots.txt Disallow honoured"
assert_eq "$(grep -c ' /private/' "$T_DIR/nginx/access.log")" "0" "the disallowed page was never requested"
assert_eq "$(q "SELECT robots_delay_ms FROM pgkb.host_politeness WHERE host = '127.0.0.1:$PORT'")" "200" "Crawl-delay stored"
assert_eq "$(doc site /orphan.html)" "fetched" "page from a gzipped sitemap behind a sitemap index"
assert_eq "$(doc site /llms.txt),$(doc site /llms-full.txt),$(doc site /guide.md)" "fetched,fetched,fetched" "llms.txt, llms-full.txt and a page linked from llms.txt"
assert_match "$(doc site /image.png)" "^skipped:unsupported content type \"image/png\"" "binary content skipped with a reason"
assert_eq "$(doc site /missing.html)" "gone:HTTP 404" "404 link marked gone"
assert_eq "$(q "SELECT count(*) FROM pgkb.documents WHERE url LIKE '%example%'")" "0" "off-site links not followed"
assert_eq "$(q "SELECT count(*) FROM pgkb.documents WHERE crawl_id = $crawl")" "$(q "SELECT count(DISTINCT payload->>'url') FROM pgkb.job_history WHERE kind = 'fetch'")" "one fetch per document"
assert_eq "$(q "SELECT count(*) FROM pgkb.job_history WHERE kind = 'fetch'")" "$(q "SELECT count(*) FROM pgkb.documents WHERE crawl_id = $crawl")" "no URL fetched twice"
assert_eq "$(q "SELECT count(*) FROM pgkb.jobs WHERE kind = 'ingest'")" "$(q "SELECT count(*) FROM pgkb.documents WHERE status = 'fetched'")" "one ingest job per fetched document"
assert_eq "$(q "SELECT count(*) FROM pgkb.jobs j JOIN pgkb.documents d ON d.id = (j.payload->>'document_id')::bigint WHERE j.kind = 'ingest' AND d.status = 'fetched'")" \
	"$(q "SELECT count(*) FROM pgkb.documents WHERE status = 'fetched'")" "ingest jobs name the fetched documents"

# --- CLI status
out=$("$PGKB" status 2>&1)
assert_match "$out" "Crawls" "pgkb status prints the crawls section"
assert_match "$out" "$crawl +done +$BASE/" "... with this crawl done"

# --- re-crawl through the CLI: unchanged pages answer 304, a removed page is gone with its chunks
ingest_before=$(q "SELECT count(*) FROM pgkb.jobs WHERE kind = 'ingest'")
q "INSERT INTO archon_crawled_pages (url, chunk_number, content, source_id) VALUES ('$BASE/b.html', 0, 'old chunk', 'site')"
rm "$SITE/b.html"
id2=$("$PGKB" enqueue crawl "$BASE/" --source-id site 2>&1)
assert_match "$id2" "^[0-9]+$" "pgkb enqueue crawl prints the job id"
wait_for "SELECT status = 'done' FROM pgkb.crawls WHERE job_id = $id2" 60 "re-crawl done"
assert_eq "$(q "SELECT http_status || ' ' || status FROM pgkb.documents WHERE url = '$BASE/a.html'")" "304 fetched" "unchanged page answered 304"
assert_ge "$(grep -c '^[0-9.]* 304 ' "$T_DIR/nginx/access.log")" 8 "conditional GETs sent"
assert_eq "$(q "SELECT count(*) FROM pgkb.jobs WHERE kind = 'ingest'")" "$ingest_before" "no new ingest job for 304 pages"
assert_eq "$(doc site /b.html)" "gone:HTTP 404" "removed page is gone"
assert_eq "$(q "SELECT count(*) FROM archon_crawled_pages WHERE url = '$BASE/b.html'")" "0" "its chunks are deleted"

# --- include/exclude and max_pages (other sources, so the rows are independent)
id=$(q "INSERT INTO pgkb.jobs (kind, payload) VALUES ('crawl', '{\"url\": \"$BASE/\", \"source_id\": \"inc\", \"max_depth\": 6, \"include\": [\"/\", \"/a*.html\"], \"exclude\": [\"/a3.html\"]}') RETURNING id")
wait_for "SELECT status = 'done' FROM pgkb.crawls WHERE job_id = $id" 60 "include/exclude crawl done"
assert_eq "$(q "SELECT string_agg(replace(url, '$BASE', ''), ' ' ORDER BY url) FROM pgkb.documents WHERE source_id = 'inc'")" "/ /a.html /a2.html" "include and exclude patterns"
id=$("$PGKB" enqueue crawl "$BASE/" --source-id lim --max-pages 4 --depth 5)
wait_for "SELECT status = 'done' FROM pgkb.crawls WHERE job_id = $id" 60 "max_pages crawl done"
assert_eq "$(q "SELECT count(*) FROM pgkb.documents WHERE source_id = 'lim'")" "4" "max_pages caps the crawl's documents"
assert_eq "$(q "SELECT options->>'max_pages' FROM pgkb.crawls WHERE job_id = $id")" "4" "options recorded on the crawl"
id=$("$PGKB" enqueue crawl "$BASE/" --source-id d0 --depth 0)
wait_for "SELECT status = 'done' FROM pgkb.crawls WHERE job_id = $id" 60 "depth 0 crawl done"
assert_eq "$(q "SELECT count(*) FROM pgkb.documents WHERE source_id = 'd0' AND depth > 0")" "0" "max_depth 0 fetches seeds only"

# --- malformed payload
id=$(q "INSERT INTO pgkb.jobs (kind, payload) VALUES ('crawl', '{\"url\": \"ftp://example.com/\"}') RETURNING id")
wait_for "SELECT count(*) = 1 FROM pgkb.jobs WHERE id = $id AND state = 'dead'" 20 "malformed crawl dead"
assert_eq "$(q "SELECT last_error FROM pgkb.jobs WHERE id = $id")" 'crawl: "url" must be an absolute http(s) URL' "malformed payload: readable permanent error"
id=$(q "INSERT INTO pgkb.jobs (kind, payload) VALUES ('crawl', '{\"url\": \"http://x.example/\", \"max_depth\": -1}') RETURNING id")
wait_for "SELECT count(*) = 1 FROM pgkb.jobs WHERE id = $id AND state = 'dead'" 20 "bad max_depth dead"
assert_match "$(q "SELECT last_error FROM pgkb.jobs WHERE id = $id")" 'max_depth' "bad max_depth named"

kill -TERM "$SUP_PID"; wait "$SUP_PID"
finish
