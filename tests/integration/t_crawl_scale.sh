#!/usr/bin/env bash
# A real site at scale: the PostgreSQL 15 HTML documentation (about 1,169 pages) on a private nginx, crawled by
# two crawl worker processes at once. Every page is fetched exactly once (the frontier dedupes across
# processes, and no process's cache of known links hides a page), max_pages holds exactly under concurrent
# claims, and crawls end even when a fetch job or the crawl job dies outside its handler.
. "$(dirname "$0")/lib.sh"
DOCS=/usr/share/doc/postgresql-doc-15/html
[ -f "$DOCS/index.html" ] || { echo "SKIP: $DOCS missing (apt-get install postgresql-doc-15)"; exit 77; }
pg_start
migrate
for attempt in 1 2 3 4 5; do
	PORT=$(free_port)
	nginx_serve "$DOCS" "$PORT" && break
done
BASE=http://127.0.0.1:$PORT
write_config "$T_DIR/pgkb.yaml" "workers:
  crawl: {processes: 2, concurrency: 32}
  ingest: {processes: 0}
  embed: {processes: 0}
crawl:
  allow_private_addresses: true
  host_delay: 0ms
  host_concurrency: 8"
sup_start "$T_DIR/pgkb.yaml" sup
wait_for "SELECT count(*) = 2 FROM pg_stat_activity WHERE application_name = 'pgkb-crawl' AND query LIKE 'LISTEN%'" 20 "two crawl workers connected"

# --- the whole site
pages=$(find "$DOCS" -maxdepth 1 -name '*.html' | wc -l)
sql "SELECT pg_stat_reset()" >/dev/null
id=$("$PGKB" enqueue crawl "$BASE/index.html" --source-id docs --depth 100 --max-pages 100000)
wait_for "SELECT status = 'done' FROM pgkb.crawls WHERE job_id = $id" 180 "the docs crawl is done"
# The workers' generic plans were made when documents was empty; none of them may scan it as it fills, and a
# lookup by (source_id, url) or id must read one index entry, not every document of the source or crawl (the
# test itself has not touched documents since the reset). Backends publish their counters within a second of
# going idle.
sleep 2
assert_eq "$(sql "SELECT seq_scan FROM pg_stat_user_tables WHERE relid = 'pgkb.documents'::regclass")" "0" \
	"no worker statement scanned documents"
IFS='|' read -r lookups looked <<<"$(sql "SELECT sum(idx_scan), sum(idx_tup_read) FROM pg_stat_user_indexes
	WHERE relid = 'pgkb.documents'::regclass AND indexrelname <> 'documents_crawl_status'")"
assert_ge "$lookups" "$pages" "documents were looked up by index"
assert_ge "$((2 * lookups))" "$looked" "each lookup read about one index entry ($looked entries in $lookups lookups)"
# the crawl's queued documents are counted (settle, at most 65 at a time, plus index entries of rows that
# left 'queued' moments ago); a lookup served by this index reads hundreds per page, quadratic in the crawl
settled=$(sql "SELECT idx_tup_read FROM pg_stat_user_indexes WHERE indexrelname = 'documents_crawl_status'")
assert_ge "$((400 * pages))" "$settled" "the crawl index read a bounded number of entries per page ($settled)"
# completions and lease renewals find their jobs by id; jobs_running serves only the rescue of expired leases
# (served from jobs_running, each completion read every running job: about 200,000 entries in this crawl)
running=$(sql "SELECT idx_tup_read FROM pg_stat_user_indexes WHERE indexrelname = 'jobs_running'")
assert_ge "$((40 * pages))" "$running" "jobs were found by id, not among all running jobs ($running entries read)"
assert_eq "$(sql "SELECT count(*) FROM pgkb.documents WHERE source_id = 'docs'")" "$pages" "one document per page of the site"
assert_eq "$(sql "SELECT count(*) FROM pgkb.documents WHERE source_id = 'docs' AND status <> 'fetched'")" "0" \
	"every page fetched"
assert_eq "$(sql "SELECT count(*) FROM pgkb.job_history WHERE kind = 'fetch'")" "$pages" "one fetch job per page"
assert_eq "$(sql "SELECT count(DISTINCT worker) FROM pgkb.job_history WHERE kind = 'fetch'")" "2" \
	"both processes fetched"
dups=$(awk '$3 != "/robots.txt" {print $3}' "$T_DIR/nginx/access.log" | sort | uniq -d | wc -l)
assert_eq "$dups" "0" "no page requested twice"
assert_eq "$(awk '$3 ~ /\.html$/' "$T_DIR/nginx/access.log" | wc -l)" "$pages" "every page requested once"

# --- max_pages under concurrent claims: the limit is exact
id=$("$PGKB" enqueue crawl "$BASE/index.html" --source-id capped --depth 100 --max-pages 150)
wait_for "SELECT status = 'done' FROM pgkb.crawls WHERE job_id = $id" 120 "the capped crawl is done"
assert_eq "$(sql "SELECT count(*) FROM pgkb.documents WHERE source_id = 'capped'")" "150" "exactly max_pages documents"
assert_eq "$(sql "SELECT count(*) FROM pgkb.documents WHERE source_id = 'capped' AND status = 'fetched'")" "150" \
	"all of them fetched"
assert_eq "$(sql "SELECT claimed FROM pgkb.crawls WHERE job_id = $id")" "150" "the crawl's claim counter agrees"

# --- a fetch job that dies outside its handler (here: its lease expired on its last attempt) fails its
# document, and the crawl ends instead of waiting for it forever
sql "INSERT INTO public.archon_sources (source_id, source_url) VALUES ('dies', '$BASE/')" >/dev/null
crawl=$(sql "INSERT INTO pgkb.crawls (source_id, root_url) VALUES ('dies', '$BASE/') RETURNING id")
sql "INSERT INTO pgkb.documents (source_id, url, crawl_id) VALUES ('dies', '$BASE/lost.html', $crawl)" >/dev/null
job=$(sql "INSERT INTO pgkb.jobs (kind, payload, state, attempts, max_attempts, lease_owner, lease_until)
           VALUES ('fetch', '{\"crawl_id\": $crawl, \"url\": \"$BASE/lost.html\", \"depth\": 0}', 'running', 1, 1,
                   'gone-host/1', now() - interval '1 second') RETURNING id")
wait_for "SELECT status = 'failed' FROM pgkb.documents WHERE crawl_id = $crawl" 30 "the dead fetch job's document failed"
assert_match "$(sql "SELECT error FROM pgkb.documents WHERE crawl_id = $crawl")" "fetch job $job died: lease expired" \
	"its error names the job and why it died"
wait_for "SELECT status = 'done' FROM pgkb.crawls WHERE id = $crawl" 15 "that crawl ended"

# --- the sweep: a running crawl whose job has ended with nothing queued is done; one whose job died failed
ended=$(sql "INSERT INTO pgkb.crawls (source_id, root_url) VALUES ('dies', '$BASE/a') RETURNING id")
djob=$(sql "INSERT INTO pgkb.jobs (kind, payload, state, last_error) VALUES ('crawl', '{\"url\": \"$BASE/b\"}', 'dead', 'boom') RETURNING id")
died=$(sql "INSERT INTO pgkb.crawls (source_id, root_url, job_id) VALUES ('dies', '$BASE/b', $djob) RETURNING id")
wait_for "SELECT status = 'done' FROM pgkb.crawls WHERE id = $ended" 20 "the sweep ends a crawl with nothing left"
wait_for "SELECT status = 'failed' FROM pgkb.crawls WHERE id = $died" 20 "the sweep fails a crawl whose job died"
assert_eq "$(sql "SELECT error FROM pgkb.crawls WHERE id = $died")" "crawl job died: boom" "with the job's error"
finish
