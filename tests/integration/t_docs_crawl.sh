#!/usr/bin/env bash
# Documents from the web: a site on a private nginx whose HTML links a PDF and a DOCX (by their types), an EPUB
# and an ODT served as application/octet-stream (by their content), and hostile or unfit files: a PDF that spins
# its parser, an encrypted PDF, a text file served as application/pdf, a PDF over ingest.max_pdf_bytes and an
# HTML page over crawl.max_bytes (the PDF beside it is larger, within its own bound). The crawl ingests the
# documents with their page ranges and FILE#page=N links, ends every other file with its status and reason,
# and finishes: no file stops it, and the workers keep running.
. "$(dirname "$0")/lib.sh"

pg_start
migrate
FIX=$PGKB_SRC_DIR/tests/data/docs
PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
SITE=$T_DIR/site
mkdir -p "$SITE/docs"
cp "$FIX/manual.pdf" "$FIX/sample.docx" "$SITE/docs/"
cp "$FIX/sample.epub" "$SITE/docs/book.epub" # nginx knows no EPUB type: application/octet-stream
cp "$FIX/sample.odt" "$SITE/docs/handout"    # no extension: application/octet-stream
cp "$FIX/hostile/form_bomb.pdf" "$SITE/docs/spin.pdf"
cp "$FIX/hostile/encrypted.pdf" "$SITE/docs/locked.pdf"
printf 'This is no PDF at all, whatever its name says.\n' >"$SITE/docs/fake.pdf"
{ printf '%%PDF-1.4\n'; head -c 200000 /dev/zero | tr '\0' 'x'; } >"$SITE/docs/huge.pdf"
{ printf '<!doctype html><html><head><title>Big</title></head><body>'; for i in $(seq 1 800); do printf '<p>Paragraph %d of a page larger than crawl.max_bytes.</p>\n' "$i"; done; printf '</body></html>'; } >"$SITE/big.html"
cat >"$SITE/index.html" <<'EOF'
<!doctype html><html><head><title>Widget documents</title></head><body>
<h1>Widget documents</h1>
<p>The <a href="docs/manual.pdf">operations manual</a> and the <a href="docs/sample.docx">handbook</a>,
also as an <a href="docs/book.epub">e-book</a> and a <a href="docs/handout">handout</a>.</p>
<p>Also: <a href="docs/spin.pdf">spin</a>, <a href="docs/locked.pdf">locked</a>, <a href="docs/fake.pdf">fake</a>,
<a href="docs/huge.pdf">huge</a>, <a href="big.html">big</a>.</p>
</body></html>
EOF
chmod -R a+rX "$SITE"
nginx_serve "$SITE" "$PORT" || { fail "nginx did not start"; cat "$T_DIR/nginx/error.log"; exit 1; }

write_config "$T_DIR/pgkb.yaml" "workers:
  crawl: {processes: 1, concurrency: 8}
  ingest: {processes: 1, concurrency: 4}
  embed: {processes: 1}
crawl:
  allow_private_addresses: true
  host_delay: 0ms
  host_concurrency: 4
  timeout: 10s
  max_bytes: 16KiB
ingest:
  chunk_size: 300
  chunk_overlap: 0
  code_min_length: 20
  converter_cpu: 2s
  converter_timeout: 20s
  max_pdf_bytes: 100KiB"
sup_start "$T_DIR/pgkb.yaml" sup
q() { sql "$1"; }
doc() { q "SELECT status || coalesce(':' || error, '') FROM pgkb.documents WHERE source_id = 'web' AND url = '$BASE$1'"; }
wait_for "SELECT count(*) >= 3 FROM pg_stat_activity WHERE application_name LIKE 'pgkb-%' AND query LIKE 'LISTEN%'" 20 "workers up"
workers=$(worker_pids "$SUP_PID")

id=$(q "INSERT INTO pgkb.jobs (kind, payload) VALUES ('crawl', '{\"url\": \"$BASE/\", \"source_id\": \"web\"}') RETURNING id")
wait_for "SELECT status = 'done' FROM pgkb.crawls WHERE job_id = $id" 60 "the crawl finished"
wait_for "SELECT count(*) = 0 FROM pgkb.jobs WHERE kind IN ('fetch', 'ingest', 'embed')" 60 "its fetch and ingest jobs ended"
assert_eq "$(q "SELECT count(*) FROM pgkb.documents WHERE source_id = 'web'")" "10" "10 URLs: the page and the 9 it links"
for p in / /docs/manual.pdf /docs/sample.docx /docs/book.epub /docs/handout; do
	assert_eq "$(doc "$p")" "ready" "$p: ready"
done
assert_match "$(doc /docs/spin.pdf)" "^failed:PDF: .*CPU limit of 2 s" "a PDF that spins its parser: failed at the converter's CPU bound"
assert_eq "$(doc /docs/locked.pdf)" "skipped:encrypted PDF" "an encrypted PDF: skipped"
assert_match "$(doc /docs/fake.pdf)" "^skipped:content type \"application/pdf\", but the body is no PDF" "text served as application/pdf: skipped, saying so"
assert_match "$(doc /docs/huge.pdf)" "^failed:fetch: too large: .*102400 bytes.*ingest.max_pdf_bytes" "a PDF over ingest.max_pdf_bytes: failed, naming the key"
assert_match "$(doc /big.html)" "^failed:fetch: too large: .*16384 bytes.*crawl.max_bytes" "an HTML page over crawl.max_bytes: failed, naming the key"
assert_ge "$(stat -c %s "$SITE/docs/manual.pdf")" 16385 "... while the PDF, larger than crawl.max_bytes, was within its own bound"

pdf=$BASE/docs/manual.pdf
n=$(q "SELECT count(*) FROM archon_crawled_pages WHERE url = '$pdf'")
assert_ge "$n" 10 "the PDF: $n chunks under its own URL"
assert_eq "$(q "SELECT count(*) FROM archon_crawled_pages WHERE url = '$pdf' AND (metadata->>'page_start')::int BETWEEN 1 AND 5 AND (metadata->>'page_end')::int BETWEEN (metadata->>'page_start')::int AND 5 AND metadata->>'page_url' = '$pdf#page=' || (metadata->>'page_start')")" "$n" "the PDF: every chunk has its page range and links to URL#page=N"
assert_eq "$(q "SELECT count(DISTINCT metadata->>'page_start') FROM archon_crawled_pages WHERE url = '$pdf'")" "5" "the PDF: chunks on each of its 5 pages"
assert_eq "$(q "SELECT section_title || '|' || (metadata->>'author') || '|' || (metadata->>'format') FROM archon_page_metadata WHERE url = '$pdf'")" "Widget Operations Manual|Grace Builder|pdf" "the PDF: title, author and format in its page metadata"
for p in /docs/sample.docx /docs/book.epub /docs/handout; do
	assert_eq "$(q "SELECT count(*) > 0 FROM archon_crawled_pages WHERE url = '$BASE$p' AND content LIKE '%Widgets install in two steps%'")" "t" "$p: its text"
	assert_eq "$(q "SELECT count(*) FROM archon_code_examples WHERE url = '$BASE$p' AND content LIKE '%widget install%'")" "1" "$p: its code example"
done
assert_eq "$(q "SELECT string_agg(metadata->>'format', ',' ORDER BY url) FROM archon_page_metadata WHERE url LIKE '$BASE/docs/%'")" "epub,odt,pdf,docx" "formats by content: the EPUB and the ODT behind application/octet-stream"
assert_eq "$(worker_pids "$SUP_PID")" "$workers" "the workers kept running"
kill -TERM "$SUP_PID"; wait "$SUP_PID"
finish
