#!/usr/bin/env bash
# One owner per URL (schema/083): Archon keys pages by url and chunks by (url, chunk_number) across sources, so
# the first source that ingests a URL owns it, and an ingest of that URL into another source fails naming the
# owner, for inline text, files and crawls (also when a re-crawl finds the page unchanged, 304). The owner's
# rows stay whole and searchable; once the owner is deleted the other source can take the URL.
. "$(dirname "$0")/lib.sh"

pg_start
migrate
DOCS=$T_DIR/docs
mkdir -p "$DOCS"
printf '# Plan\n\nThe migration plan for the zebra cluster: move replicas first, then the primary.\n' >"$DOCS/plan.md"
PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
SITE=$T_DIR/site
mkdir -p "$SITE"
printf '<!doctype html><html><head><title>Home</title></head><body><h1>Home</h1><p>Walruses sleep on ice floes.</p><a href="/two.html">two</a></body></html>' >"$SITE/index.html"
printf '<!doctype html><html><head><title>Two</title></head><body><h1>Two</h1><p>Narwhals have one long tusk.</p></body></html>' >"$SITE/two.html"
chmod -R a+rX "$SITE"
nginx_serve "$SITE" "$PORT" || { fail "nginx did not start"; cat "$T_DIR/nginx/error.log"; exit 1; }
write_config "$T_DIR/pgkb.yaml" "workers:
  crawl: {processes: 1, concurrency: 4}
  ingest: {processes: 1, concurrency: 2}
  embed: {processes: 1, concurrency: 2}
  noop: {processes: 0}
ingest:
  roots: [\"$DOCS\"]
crawl:
  allow_private_addresses: true
  host_delay: 0ms
embed: {provider: builtin, dimension: 384}"
sup_start "$T_DIR/pgkb.yaml" sup
q() { sql "$1"; }
doc() { q "SELECT status || coalesce(':' || error, '') FROM pgkb.documents WHERE source_id = '$1' AND url = '$2'"; }
idle() { wait_for "SELECT count(*) = 0 FROM pgkb.jobs WHERE state <> 'dead'" 60 "$1"; }
inline() { q "INSERT INTO pgkb.jobs (kind, payload) VALUES ('ingest', jsonb_build_object('content', 'Zebra plan: move the replicas first, then the primary.', 'url', 'notes://plan', 'title', 'Plan', 'source_id', '$1'))" >/dev/null; }

# --- inline text: tenant-a first, then tenant-b
inline tenant-a
wait_for "SELECT status = 'ready' FROM pgkb.documents WHERE source_id = 'tenant-a' AND url = 'notes://plan'" 30 "tenant-a's plan ready"
inline tenant-b
idle "tenant-b's ingest ended"
assert_eq "$(doc tenant-b notes://plan)" "failed:url notes://plan is owned by source tenant-a" "the second ingest fails naming the owner"
assert_eq "$(doc tenant-a notes://plan)" "ready" "the owner's document stays ready"
assert_eq "$(q "SELECT string_agg(DISTINCT source_id, ',') FROM archon_crawled_pages WHERE url = 'notes://plan'")" "tenant-a" "every chunk still belongs to tenant-a"
assert_eq "$(q "SELECT source_id FROM archon_page_metadata WHERE url = 'notes://plan'")" "tenant-a" "the page still belongs to tenant-a"
assert_match "$("$PGKB" search "zebra replicas" --source tenant-a 2>&1)" "notes://plan" "a search restricted to tenant-a finds the plan"
assert_eq "$(q "SELECT count(*) FROM pgkb.documents WHERE status = 'ready' AND url = 'notes://plan'")" "1" "exactly one document says ready"
inline tenant-b
idle "tenant-b's retry ended"
assert_eq "$(doc tenant-b notes://plan)" "failed:url notes://plan is owned by source tenant-a" "ingesting again into tenant-b still fails"

# --- files: the same file into two sources
q "INSERT INTO pgkb.jobs (kind, payload) VALUES ('ingest', jsonb_build_object('path', '$DOCS/plan.md', 'source_id', 'files-a'))" >/dev/null
idle "files-a ingested"
q "INSERT INTO pgkb.jobs (kind, payload) VALUES ('ingest', jsonb_build_object('path', '$DOCS/plan.md', 'source_id', 'files-b'))" >/dev/null
idle "files-b ingested"
assert_eq "$(doc files-a "file://$DOCS/plan.md")" "ready" "the file is ready in its first source"
assert_eq "$(doc files-b "file://$DOCS/plan.md")" "failed:url file://$DOCS/plan.md is owned by source files-a" "and failed in the second, naming the owner"

# --- crawls: the same site into two sources, then a re-crawl of the second (pages unchanged: 304)
q "INSERT INTO pgkb.jobs (kind, payload) VALUES ('crawl', jsonb_build_object('url', '$BASE/', 'source_id', 'crawl-a'))" >/dev/null
idle "crawl-a crawled and ingested"
q "INSERT INTO pgkb.jobs (kind, payload) VALUES ('crawl', jsonb_build_object('url', '$BASE/', 'source_id', 'crawl-b'))" >/dev/null
idle "crawl-b crawled and ingested"
assert_eq "$(doc crawl-a "$BASE/two.html")" "ready" "the page is ready in the first crawl's source"
assert_eq "$(doc crawl-b "$BASE/two.html")" "failed:url $BASE/two.html is owned by source crawl-a" "and failed in the second's"
assert_eq "$(q "SELECT count(*) FROM archon_crawled_pages WHERE source_id = 'crawl-b'")" "0" "crawl-b holds no chunk"
q "INSERT INTO pgkb.jobs (kind, payload) VALUES ('crawl', jsonb_build_object('url', '$BASE/', 'source_id', 'crawl-b'))" >/dev/null
idle "crawl-b re-crawled"
assert_eq "$(q "SELECT http_status FROM pgkb.documents WHERE source_id = 'crawl-b' AND url = '$BASE/'")" "304" "the re-crawl found the root page unchanged (304)"
assert_eq "$(doc crawl-b "$BASE/")" "failed:url $BASE/ is owned by source crawl-a" "an unchanged page of the re-crawl does not turn ready"
assert_eq "$(q "SELECT count(*) FROM pgkb.documents WHERE status = 'ready' AND url IN ('$BASE/', '$BASE/two.html')")" "2" "one document of each page says ready"

# --- the owner deleted: the URL is free, and the other source takes it on its next ingest
out=$("$PGKB" source delete tenant-a 2>&1)
assert_match "$out" "source tenant-a deleted" "pgkb source delete tenant-a"
inline tenant-b
wait_for "SELECT status = 'ready' FROM pgkb.documents WHERE source_id = 'tenant-b' AND url = 'notes://plan'" 30 "tenant-b's plan ready once tenant-a is gone"
assert_match "$("$PGKB" search "zebra replicas" --source tenant-b 2>&1)" "notes://plan" "a search restricted to tenant-b finds it now"
finish
