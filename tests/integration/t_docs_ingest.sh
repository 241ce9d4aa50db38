#!/usr/bin/env bash
# Real documents from disk (tests/data/docs): a directory holding a PDF, DOCX, PPTX, ODT, ODP and EPUB, a PDF
# without an extension and an ODT named .txt (both found by content) ingests each with its text, heading paths,
# tables and code examples; the PDF's chunks say which pages they span and link to FILE#page=N, under the
# document's own URL. The hostile set (an 80 MiB zip bomb, XXE, billion laughs, an encrypted PDF, truncated PDF
# and DOCX, damaged PDF, a PDF that spins its parser) ends each file with its status and a reason naming the
# bound, within bounded time, while the worker keeps running. A real manual (r-doc-pdf) when installed.
. "$(dirname "$0")/lib.sh"
pg_start
migrate
FIX=$PGKB_SRC_DIR/tests/data/docs
ROOT=$T_DIR/root
GOOD=$ROOT/good
BAD=$ROOT/bad
mkdir -p "$GOOD" "$BAD"
for f in sample.docx sample.pptx sample.odt sample.odp sample.epub manual.pdf; do cp "$FIX/$f" "$GOOD/"; done
cp "$FIX/manual.pdf" "$GOOD/manual-copy"    # no extension: listed because its content is a PDF
cp "$FIX/sample.odt" "$GOOD/misnamed.txt"  # a text name, an ODT inside: read as the ODT it is
cp "$FIX/sample.md" "$GOOD/plain.md"       # the text path beside them is unchanged
for f in xxe_file.docx xxe_url.docx laughs.docx encrypted.pdf garbage.pdf form_bomb.pdf; do cp "$FIX/hostile/$f" "$BAD/"; done
head -c 5000 "$FIX/manual.pdf" >"$BAD/truncated.pdf"
head -c 2000 "$FIX/sample.docx" >"$BAD/truncated.docx"
# a zip bomb past the converter's default bound of 64 MiB per entry: 80 MiB in 80 KiB
python3 - "$BAD/bomb.docx" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED) as z:
    z.writestr('[Content_Types].xml', '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
               'package/2006/content-types"><Override PartName="/word/document.xml" ContentType="application/'
               'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>')
    z.writestr('word/document.xml', b'a' * (80 << 20))
PY

# docs_config FILE INGEST_KEYS: one ingest worker embedding its own rows (documents end ready), reading ROOT
docs_config() {
	write_config "$1" "workers:
  ingest: {processes: 1, concurrency: 4}
  noop: {processes: 0}
  crawl: {processes: 0}
  embed: {processes: 1}
ingest:
  roots: [\"$ROOT\"]
$2"
}
docs_config "$T_DIR/pgkb.yaml" "  chunk_size: 150
  chunk_overlap: 0
  code_min_length: 20
  converter_cpu: 2s
  converter_timeout: 20s"
sup_start "$T_DIR/pgkb.yaml" sup
wait_for "SELECT count(*) = 1 FROM pg_stat_activity WHERE application_name = 'pgkb-ingest' AND query LIKE 'LISTEN%'" 20 "ingest worker up"
worker=$(worker_pids "$SUP_PID")
q() { sql "$1"; }
u() { printf "file://%s" "$1"; }
status() { q "SELECT status || coalesce(':' || error, '') FROM pgkb.documents WHERE url = '$(u "$1")'"; }

# --- the good documents
"$PGKB" -c "$T_DIR/pgkb.yaml" enqueue ingest --help | grep -q "PDF" && pass "pgkb enqueue ingest --help lists the formats" || fail "pgkb enqueue ingest --help lists the formats"
"$PGKB" enqueue ingest "$GOOD" >/dev/null
wait_for "SELECT count(*) = 9 FROM pgkb.documents WHERE url LIKE '$(u "$GOOD")/%' AND status IN ('ready', 'failed', 'skipped')" 90 "9 good documents ended"
assert_eq "$(q "SELECT string_agg(status, ',' ORDER BY url) FROM pgkb.documents WHERE url LIKE '$(u "$GOOD")/%'")" \
	"ready,ready,ready,ready,ready,ready,ready,ready,ready" "every good document is ready (by content: a PDF without an extension, an ODT named .txt)"
for f in sample.docx sample.pptx sample.odt sample.odp sample.epub misnamed.txt; do
	url=$(u "$GOOD/$f")
	assert_eq "$(q "SELECT count(*) > 0 FROM archon_crawled_pages WHERE url = '$url' AND content LIKE '%Widgets install in two steps%'")" "t" "$f: its text is in its chunks"
	assert_eq "$(q "SELECT count(*) > 0 FROM archon_crawled_pages WHERE url = '$url' AND content LIKE '%Download the archive%' AND metadata->>'headers' LIKE '%Installing widgets%'")" "t" "$f: a chunk under 'Installing widgets' carries that heading path"
	assert_eq "$(q "SELECT count(*) > 0 FROM archon_crawled_pages WHERE url = '$url' AND content LIKE '%| Option | Meaning |%' AND content LIKE '%| --prefix | where files go |%'")" "t" "$f: the table as a pipe table"
	assert_eq "$(q "SELECT count(*) FROM archon_code_examples WHERE url = '$url' AND content LIKE '%widget install --prefix=/opt/widget%'")" "1" "$f: the code example"
	assert_eq "$(q "SELECT section_title || '|' || (metadata->>'author') FROM archon_page_metadata WHERE url = '$url'")" "Widget Handbook|Ada Tester" "$f: title and author from the document's metadata"
done
assert_eq "$(q "SELECT string_agg(coalesce(metadata->>'format', '-'), ',' ORDER BY url) FROM archon_page_metadata WHERE url LIKE '$(u "$GOOD")/%'")" \
	"pdf,pdf,odt,-,docx,epub,odp,odt,pptx" "page metadata names each format by content; plain Markdown has none"
# slides and chapters are numbered like pages, without a #page URL (only a PDF viewer opens one)
assert_eq "$(q "SELECT count(*) FILTER (WHERE metadata ? 'page_start') = count(*) AND count(*) FILTER (WHERE metadata ? 'page_url') = 0 FROM archon_crawled_pages WHERE url = '$(u "$GOOD/sample.pptx")'")" "t" "PPTX chunks carry their slide numbers, no page_url"
assert_eq "$(q "SELECT (metadata->>'pages') || ' ' || (metadata->>'page_unit') FROM archon_page_metadata WHERE url = '$(u "$GOOD/sample.pptx")'")" "4 slide" "PPTX: 4 slides"
assert_eq "$(q "SELECT count(*) FILTER (WHERE metadata ? 'page_start') FROM archon_crawled_pages WHERE url = '$(u "$GOOD/sample.docx")'")" "0" "DOCX (one flow of text) has no page numbers"

# --- the PDF's pages
pdf=$(u "$GOOD/manual.pdf")
assert_eq "$(q "SELECT section_title || '|' || (metadata->>'author') || '|' || (metadata->>'pages') FROM archon_page_metadata WHERE url = '$pdf'")" \
	"Widget Operations Manual|Grace Builder|5" "PDF: title, author and 5 pages from its information dictionary"
n=$(q "SELECT count(*) FROM archon_crawled_pages WHERE url = '$pdf'")
assert_ge "$n" 10 "PDF: $n chunks"
assert_eq "$(q "SELECT count(*) FROM archon_crawled_pages WHERE url = '$pdf' AND (metadata->>'page_start')::int BETWEEN 1 AND 5 AND (metadata->>'page_end')::int BETWEEN (metadata->>'page_start')::int AND 5")" "$n" "PDF: every chunk has 1 <= page_start <= page_end <= 5"
assert_eq "$(q "SELECT count(*) FROM archon_crawled_pages WHERE url = '$pdf' AND metadata->>'page_url' = url || '#page=' || (metadata->>'page_start')")" "$n" "PDF: every chunk links to FILE#page=page_start; its url stays the document's"
assert_eq "$(q "SELECT count(DISTINCT metadata->>'page_start') FROM archon_crawled_pages WHERE url = '$pdf'")" "5" "PDF: chunks start on each of the 5 pages"
assert_eq "$(q "SELECT bool_and(a.s <= b.s) FROM (SELECT chunk_number n, (metadata->>'page_start')::int s FROM archon_crawled_pages WHERE url = '$pdf') a JOIN (SELECT chunk_number n, (metadata->>'page_start')::int s FROM archon_crawled_pages WHERE url = '$pdf') b ON b.n = a.n + 1")" "t" "PDF: page_start never goes back from one chunk to the next"
assert_eq "$(q "SELECT metadata->>'page_start' FROM archon_crawled_pages WHERE url = '$pdf' AND content LIKE '%Paragraph 1. %' ORDER BY chunk_number LIMIT 1")" "1" "PDF: the first paragraph is on page 1"
assert_eq "$(q "SELECT metadata->>'page_end' FROM archon_crawled_pages WHERE url = '$pdf' AND content LIKE '%Paragraph 21.%' ORDER BY chunk_number DESC LIMIT 1")" "5" "PDF: the last paragraph is on page 5"
assert_eq "$(q "SELECT count(*) > 0 FROM archon_crawled_pages WHERE url = '$pdf' AND metadata->>'headers' LIKE '%Troubleshooting%Logs%'")" "t" "PDF: heading paths from its outline"
assert_eq "$(q "SELECT count(*) FROM archon_crawled_pages WHERE url = '$pdf' AND content LIKE '%Widget Operations Manual%Widget Operations Manual%'")" "0" "PDF: the running header is not repeated into the chunks"
# re-ingest: the same document, unchanged, writes nothing; the rows stay keyed by the document's URL
before=$(q "SELECT string_agg(id::text, ',' ORDER BY id) FROM archon_crawled_pages WHERE url = '$pdf'")
"$PGKB" enqueue ingest "$GOOD/manual.pdf" --wait --timeout 60s >/dev/null
assert_eq "$(q "SELECT string_agg(id::text, ',' ORDER BY id) FROM archon_crawled_pages WHERE url = '$pdf'")" "$before" "re-ingest of an unchanged PDF keeps its rows"

# --- the hostile set
start=$(date +%s)
"$PGKB" enqueue ingest "$BAD" >/dev/null
wait_for "SELECT count(*) = 9 FROM pgkb.documents WHERE url LIKE '$(u "$BAD")/%' AND status IN ('ready', 'failed', 'skipped')" 120 "9 hostile documents ended"
log "hostile set ended in $(( $(date +%s) - start )) s"
assert_eq "$(status "$BAD/encrypted.pdf")" "skipped:encrypted PDF" "encrypted PDF: skipped: encrypted PDF"
assert_match "$(status "$BAD/bomb.docx")" "^failed:DOCX: zip entry word/document.xml declares 83886080 bytes uncompressed \(limit 67108864 per entry" "zip bomb: failed, naming the per-entry bound, before inflating"
assert_match "$(status "$BAD/xxe_file.docx")" "^failed:DOCX: .*DTD or entities is refused" "XXE (file): refused"
assert_match "$(status "$BAD/xxe_url.docx")" "^failed:DOCX: .*DTD or entities is refused" "XXE (URL): refused"
assert_match "$(status "$BAD/laughs.docx")" "^failed:DOCX: .*(entit|DTD)" "billion laughs: refused"
assert_match "$(status "$BAD/truncated.pdf")" "^failed:PDF: .*damaged" "truncated PDF: failed as damaged"
assert_match "$(status "$BAD/garbage.pdf")" "^failed:PDF: .*damaged" "damaged PDF: failed"
assert_match "$(status "$BAD/truncated.docx")" "^failed:document: not a readable zip" "truncated DOCX: failed, not a readable zip"
assert_match "$(status "$BAD/form_bomb.pdf")" "^failed:PDF: .*CPU limit of 2 s" "a PDF that spins its parser: stopped at the converter's CPU bound"
assert_eq "$(q "SELECT count(*) FROM archon_crawled_pages WHERE url LIKE '$(u "$BAD")/%'")" "0" "no hostile file left a chunk"
assert_eq "$(worker_pids "$SUP_PID")" "$worker" "the ingest worker kept running through the hostile set"
assert_eq "$(q "SELECT count(*) FROM pgkb.jobs WHERE kind = 'ingest' AND state = 'dead'")" "0" "no ingest job died: each file ended its document instead"
printf '# After\n\nThe worker still ingests.\n' >"$GOOD/after.md"
"$PGKB" enqueue ingest "$GOOD/after.md" --wait --timeout 30s >/dev/null
assert_eq "$(status "$GOOD/after.md")" "ready" "a document after the hostile set is ingested"

# --- size bounds per format: a PDF larger than ingest.max_pdf_bytes is refused with the key's name
kill -TERM "$SUP_PID"; wait "$SUP_PID"
DRAIN=2s docs_config "$T_DIR/small.yaml" "  converter_cpu: 20s
  max_pdf_bytes: 8KiB
  max_document_bytes: 4KiB"
sup_start "$T_DIR/small.yaml" small
mkdir -p "$ROOT/small"
cp "$FIX/manual.pdf" "$ROOT/small/big.pdf"
cp "$FIX/sample.docx" "$ROOT/small/office.docx" # 5 KiB: over the text bound, within max_office_bytes
"$PGKB" enqueue ingest "$ROOT/small" --wait --timeout 60s >/dev/null
assert_match "$(status "$ROOT/small/big.pdf")" "^failed:file is [0-9.]+ kB, larger than ingest.max_pdf_bytes \(8.2 kB\)" "a PDF over ingest.max_pdf_bytes: failed, naming the key"
assert_eq "$(status "$ROOT/small/office.docx")" "ready" "a DOCX over max_document_bytes is within max_office_bytes: ready"

# --- a worker killed outright takes its converter child along (PR_SET_PDEATHSIG): none is left to spin on
iw=$(sed -n 's/.*started ingest-1 (pid \([0-9]*\),.*/\1/p' "$T_DIR/small.log" | tail -n 1)
q "INSERT INTO pgkb.jobs (kind, payload) VALUES ('ingest', '{\"path\": \"$BAD/form_bomb.pdf\"}')" >/dev/null
conv=
for _ in $(seq 1 100); do conv=$(pgrep -P "$iw" | head -n 1); [ -n "$conv" ] && break; sleep 0.1; done
assert_match "$conv" "^[0-9]+$" "the ingest worker forked a converter child for the spinning PDF"
kill -KILL "$iw"
alive() { [ -e "/proc/$1" ] && ! grep -q ') Z' "/proc/$1/stat" 2>/dev/null; }
for _ in $(seq 1 30); do alive "$conv" || break; sleep 0.1; done
alive "$conv" && fail "the converter child outlived its killed worker" || pass "killing the worker killed its converter child at once"

# --- a real manual: R-intro.pdf from r-doc-pdf
RINTRO=/usr/share/R/doc/manual/R-intro.pdf
if [ -f "$RINTRO" ]; then
	mkdir -p "$ROOT/r"
	cp "$RINTRO" "$ROOT/r/"
	kill -TERM "$SUP_PID"; wait "$SUP_PID"
	docs_config "$T_DIR/r.yaml" "  chunk_size: 1200" # the default converter bounds: 113 pages take seconds under a sanitizer
	sup_start "$T_DIR/r.yaml" sup2
	"$PGKB" enqueue ingest "$ROOT/r/R-intro.pdf" --wait --timeout 120s >/dev/null
	r=$(u "$ROOT/r/R-intro.pdf")
	assert_eq "$(status "$ROOT/r/R-intro.pdf")" "ready" "R-intro.pdf: ready"
	pages=$(q "SELECT metadata->>'pages' FROM archon_page_metadata WHERE url = '$r'")
	assert_ge "$pages" 90 "R-intro.pdf: $pages pages"
	assert_eq "$(q "SELECT max((metadata->>'page_end')::int) <= $pages AND min((metadata->>'page_start')::int) = 1 AND count(DISTINCT metadata->>'page_start') > $pages / 2 FROM archon_crawled_pages WHERE url = '$r'")" "t" "R-intro.pdf: chunks spread over its pages"
	assert_eq "$(q "SELECT count(*) > 0 FROM archon_crawled_pages WHERE url = '$r' AND content LIKE '%data frame%'")" "t" "R-intro.pdf: its text is searchable"
else
	log "r-doc-pdf is not installed: the R manual is not ingested"
fi
kill -TERM "$SUP_PID"; wait "$SUP_PID"
finish
