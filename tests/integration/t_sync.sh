#!/usr/bin/env bash
# Sync (schema/086_sync.sql): a directory re-ingested after files were deleted, renamed and changed retires the
# deleted and old names (gone, no chunks, out of pgkb search) and keeps the rest current; "sync": false and a walk
# cut by a bound retire nothing; neither do a sibling directory's files or another source's. A re-crawl retires
# a page that is no longer linked, unless the crawl reached max_pages.
. "$(dirname "$0")/lib.sh"
pg_start
migrate
ROOT=$T_DIR/root
SITE=$T_DIR/site
mkdir -p "$ROOT" "$SITE"
PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
write_config "$T_DIR/pgkb.yaml" "workers:
  ingest: {processes: 1, concurrency: 4}
  embed: {processes: 1}
  crawl: {processes: 1, concurrency: 4}
  noop: {processes: 0}
ingest:
  roots: [\"$ROOT\"]
crawl:
  allow_private_addresses: true
  host_delay: 0ms
  timeout: 10s"
sup_start "$T_DIR/pgkb.yaml" sup
wait_for "SELECT count(*) = 1 FROM pg_stat_activity WHERE application_name = 'pgkb-ingest' AND query LIKE 'LISTEN%'" 60 "ingest worker up"

# ingest_dir DIR SOURCE [EXTRA_JSON]: enqueues a directory job and waits (generously: a loaded machine) until
# it and every file job are over; prints the directory job's id.
ingest_dir() {
	local id extra=${3:-'{}'}
	id=$(sql "INSERT INTO pgkb.jobs (kind, payload) VALUES ('ingest', jsonb_build_object('path', '$1', 'source_id', '$2') || '$extra'::jsonb) RETURNING id")
	wait_for "SELECT EXISTS (SELECT 1 FROM pgkb.job_history WHERE id = $id AND state = 'succeeded')" 120 "directory job $1" >&2
	wait_for "SELECT count(*) = 0 FROM pgkb.jobs WHERE kind = 'ingest' AND state <> 'dead'" 120 "file jobs of $1" >&2
	echo "$id"
}
doc() { sql "SELECT status || coalesce(':' || error, '') FROM pgkb.documents WHERE url = 'file://$1' AND '${2:-}' IN ('', source_id)"; }
chunks() { sql "SELECT count(*) FROM archon_crawled_pages WHERE url = 'file://$1'"; }
gone_msg() { echo "gone:file no longer exists under $1"; }

# --- a directory: files deleted, renamed, changed and kept between two ingests
D=$ROOT/docs
mkdir -p "$D/sub" "$ROOT/docs2"
printf '# Keep\n\nThe kept page talks about lighthouses and harbours.\n' >"$D/keep.md"
printf '# Deleted one\n\nZanzibarquokka is a word only the deleted page holds.\n' >"$D/del1.md"
printf '# Deleted two\n\nThe second deleted page is about volcanoes.\n' >"$D/sub/del2.md"
printf '# Renamed\n\nThe renamed page is about glaciers.\n' >"$D/old.md"
printf '# Changed\n\nThe changed page first spoke of deserts.\n' >"$D/chg.md"
printf '# Sibling\n\nA sibling directory sharing the prefix.\n' >"$ROOT/docs2/sib.md"
printf '# Other\n\nAnother source owns this file.\n' >"$D/other.md"
ingest_dir "$ROOT/docs2" dir >/dev/null
sql "INSERT INTO pgkb.jobs (kind, payload) VALUES ('ingest', jsonb_build_object('path', '$D/other.md', 'source_id', 'other'))" >/dev/null
wait_for "SELECT count(*) = 0 FROM pgkb.jobs WHERE kind = 'ingest'" 120 "the other source's file"
ingest_dir "$D" dir >/dev/null
assert_eq "$(sql "SELECT string_agg(replace(url, 'file://$ROOT/', '') || '=' || status, ' ' ORDER BY url) FROM pgkb.documents WHERE source_id = 'dir'")" \
	"docs/chg.md=ready docs/del1.md=ready docs/keep.md=ready docs/old.md=ready docs/other.md=failed docs/sub/del2.md=ready docs2/sib.md=ready" \
	"first ingest: every file ready (other.md is owned by source other: 083)"
assert_eq "$(doc "$D/other.md" other)" "ready" "the other source's file under the directory is ready"
out=$("$PGKB" -c "$T_DIR/pgkb.yaml" search "Zanzibarquokka" -k 3 --source dir 2>&1)
assert_match "$out" "file://$D/del1.md" "search finds the page before its deletion"

rm "$D/del1.md" "$D/sub/del2.md" "$D/other.md" "$ROOT/docs2/sib.md"
mv "$D/old.md" "$D/new.md"
printf '# Changed\n\nThe changed page now speaks of rainforests.\n' >"$D/chg.md"
j=$(ingest_dir "$D" dir)
assert_eq "$(sql "SELECT coalesce(last_error, '') FROM pgkb.job_history WHERE id = $j")" "" "a complete walk notes nothing"
assert_eq "$(doc "$D/del1.md")" "$(gone_msg "$D")" "a deleted file is gone, with the reason"
assert_eq "$(doc "$D/sub/del2.md")" "$(gone_msg "$D")" "a deleted file in a subdirectory is gone"
assert_eq "$(doc "$D/old.md")" "$(gone_msg "$D")" "a renamed file's old name is gone"
assert_eq "$(chunks "$D/del1.md") $(chunks "$D/sub/del2.md") $(chunks "$D/old.md")" "0 0 0" "... with no chunks left"
assert_eq "$(sql "SELECT count(*) FROM archon_page_metadata WHERE url IN ('file://$D/del1.md', 'file://$D/old.md')")" "0" "... nor page metadata"
assert_eq "$(doc "$D/new.md") $(doc "$D/keep.md") $(doc "$D/chg.md")" "ready ready ready" "the new name, the kept and the changed file are ready"
assert_match "$(sql "SELECT string_agg(content, ' ') FROM archon_crawled_pages WHERE url = 'file://$D/new.md'")" "glaciers" "the new name holds the text"
assert_match "$(sql "SELECT string_agg(content, ' ') FROM archon_crawled_pages WHERE url = 'file://$D/chg.md'")" "rainforests" "the changed file holds its new text"
assert_eq "$(sql "SELECT count(*) FROM archon_crawled_pages WHERE url = 'file://$D/chg.md' AND content LIKE '%deserts%'")" "0" "... and not the old one"
assert_eq "$(doc "$ROOT/docs2/sib.md")" "ready" "a sibling directory sharing the prefix is not synced by this one"
assert_eq "$(doc "$D/other.md" other)" "ready" "another source's file under the directory is not retired"
out=$("$PGKB" -c "$T_DIR/pgkb.yaml" search "Zanzibarquokka" -k 10 --source dir 2>&1)
assert_eq "$(printf '%s\n' "$out" | grep -c "del1.md")" "0" "pgkb search no longer returns the deleted text"
assert_match "$(grep "ingest job $j" "$T_DIR/sup.log")" "files to ingest" "the directory job ran"

# --- "sync": false retires nothing
N=$ROOT/nosync
mkdir -p "$N"
printf '# One\n\nFirst file.\n' >"$N/one.md"
printf '# Two\n\nSecond file.\n' >"$N/two.md"
ingest_dir "$N" ns >/dev/null
rm "$N/one.md"
ingest_dir "$N" ns '{"sync": false}' >/dev/null
assert_eq "$(doc "$N/one.md") $(doc "$N/two.md")" "ready ready" "\"sync\": false retires nothing"
bad=$(sql "INSERT INTO pgkb.jobs (kind, payload) VALUES ('ingest', jsonb_build_object('path', '$N', 'sync', 'no')) RETURNING id")
wait_for "SELECT EXISTS (SELECT 1 FROM pgkb.jobs WHERE id = $bad AND state = 'dead')" 60 "a bad \"sync\" fails its job"
assert_eq "$(sql "SELECT last_error FROM pgkb.jobs WHERE id = $bad")" "ingest: \"sync\" must be true or false" "... with a readable error"
ingest_dir "$N" ns >/dev/null
assert_eq "$(doc "$N/one.md")" "$(gone_msg "$N")" "the default (sync) retires it on the next ingest"

# --- a walk cut by the depth bound is partial: it retires nothing, and the job's note says so
P=$ROOT/deep
d=$P
for i in $(seq 1 66); do d="$d/l$i"; done
mkdir -p "$d"
printf '# Bottom\n\nToo deep.\n' >"$d/bottom.md"
printf '# Top\n\nAt the top.\n' >"$P/top.md"
printf '# Leaving\n\nThis file will be deleted.\n' >"$P/leaving.md"
ingest_dir "$P" deep >/dev/null
rm "$P/leaving.md"
j=$(ingest_dir "$P" deep)
assert_eq "$(doc "$P/leaving.md")" "ready" "a partial walk retires nothing"
assert_match "$(sql "SELECT last_error FROM pgkb.job_history WHERE id = $j")" "deeper than 64 levels.*; the walk was partial, so no document was retired" \
	"... and the job's note says so"

# --- crawl sync: a page no longer linked is gone after the next complete crawl; not after one that hit max_pages
page() { printf '<!doctype html><html><head><title>%s</title></head><body><h1>%s</h1><p>%s</p>%s</body></html>\n' "$1" "$1" "$2" "$3" >"$SITE/$4"; }
page Home "The home page." '<a href="/a.html">a</a> <a href="/b.html">b</a> <a href="/c.html">c</a>' index.html
page A "Page a about otters." "" a.html
page B "Page b about Quetzalwombat." "" b.html
page C "Page c about herons." "" c.html
mkdir -p "$SITE/lim"
page Home "The home page of lim." '<a href="/lim/a.html">a</a> <a href="/lim/b.html">b</a> <a href="/lim/c.html">c</a>' lim/index.html
for p in a b c; do page "Lim $p" "Lim page $p." "" "lim/$p.html"; done
chmod -R a+rX "$SITE"
nginx_serve "$SITE" "$PORT" || { fail "nginx did not start"; cat "$T_DIR/nginx/error.log"; exit 1; }
pdoc() { sql "SELECT status || coalesce(':' || error, '') FROM pgkb.documents WHERE source_id = '$1' AND url = '$BASE$2'"; }
# crawl SOURCE [EXTRA_JSON]: a crawl of the site (source lim: its copy under /lim/, as a URL has one owner), waited for until it is done and its pages are ingested
crawl() {
	local id extra=${2:-'{}'}
	id=$(sql "INSERT INTO pgkb.jobs (kind, payload) VALUES ('crawl', jsonb_build_object('url', '$BASE/' || CASE WHEN '$1' = 'lim' THEN 'lim/' ELSE '' END, 'source_id', '$1') || '$extra'::jsonb) RETURNING id")
	wait_for "SELECT status = 'done' FROM pgkb.crawls WHERE job_id = $id" 120 "crawl of $1 done" >&2
	wait_for "SELECT count(*) = 0 FROM pgkb.jobs WHERE kind IN ('fetch', 'ingest', 'embed') AND state <> 'dead'" 120 "crawl of $1 ingested" >&2
	sql "SELECT id FROM pgkb.crawls WHERE job_id = $id"
}
crawl site >/dev/null
crawl lim >/dev/null
assert_eq "$(pdoc site /b.html) $(pdoc lim /lim/b.html)" "ready ready" "first crawls: the linked page is ready"
assert_ge "$(sql "SELECT count(*) FROM archon_crawled_pages WHERE url = '$BASE/b.html' AND source_id = 'site'")" 1 "... with chunks"
page Home "The home page." '<a href="/a.html">a</a> <a href="/c.html">c</a>' index.html
page Home "The home page of lim." '<a href="/lim/a.html">a</a> <a href="/lim/c.html">c</a>' lim/index.html
c2=$(crawl site)
assert_eq "$(pdoc site /b.html)" "gone:not reached by crawl $c2" "a page no longer linked is gone after a complete re-crawl"
assert_eq "$(sql "SELECT count(*) FROM archon_crawled_pages WHERE url = '$BASE/b.html' AND source_id = 'site'")" "0" "... with no chunks"
assert_eq "$(pdoc site /) $(pdoc site /a.html) $(pdoc site /c.html)" "ready ready ready" "the pages still linked stay ready"
out=$("$PGKB" -c "$T_DIR/pgkb.yaml" search "Quetzalwombat" -k 10 --source site 2>&1)
assert_eq "$(printf '%s\n' "$out" | grep -c "b.html")" "0" "pgkb search no longer returns it"
crawl lim '{"max_pages": 2}' >/dev/null
assert_eq "$(sql "SELECT count(*) FROM pgkb.documents WHERE source_id = 'lim' AND status = 'gone'")" "0" "a re-crawl that reached max_pages retires nothing"
assert_eq "$(pdoc lim /lim/b.html)" "ready" "... not even the unlinked page"

kill -TERM "$SUP_PID"; wait "$SUP_PID"
finish
