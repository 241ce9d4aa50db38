#!/usr/bin/env bash
# The ingest worker on real documents (pages of the PostgreSQL HTML documentation from postgresql-doc-15):
# chunks, heading paths, code examples, page metadata; unchanged re-ingest writes nothing; a one-paragraph
# edit changes only the chunks around it; inline text; hostile input; the ingest-roots fence; source word counts
# (folded in from deltas); with embed workers and the builtin provider, rows inserted with their vectors.
. "$(dirname "$0")/lib.sh"
PGDOCS=/usr/share/doc/postgresql-doc-15/html
[ -f "$PGDOCS/sql-createindex.html" ] || { fail "postgresql-doc-15 is not installed"; finish; }
pg_start
migrate
DOCS=$T_DIR/docs
mkdir -p "$DOCS/pg" "$DOCS/bad" "$T_DIR/outside"
for f in sql-createindex tutorial-select sql-select indexes-types tutorial-join; do cp "$PGDOCS/$f.html" "$DOCS/pg/"; done
write_config "$T_DIR/pgkb.yaml" "workers:
  ingest: {processes: 1, concurrency: 2}
  noop: {processes: 0}
  crawl: {processes: 0}
  embed: {processes: 0}
ingest:
  roots: [\"$DOCS\"]
  chunk_size: 1200
  chunk_overlap: 150
  code_min_length: 60
  max_document_bytes: 20MB"
sup_start "$T_DIR/pgkb.yaml" sup
wait_for "SELECT count(*) = 1 FROM pg_stat_activity WHERE application_name = 'pgkb-ingest' AND query LIKE 'LISTEN%'" 20 "ingest worker up"
worker=$(worker_pids "$SUP_PID")
idle() { sql "SELECT count(*) = 0 FROM pgkb.jobs WHERE kind = 'ingest' AND state <> 'dead'"; }

# --- a directory of real pages
out=$("$PGKB" enqueue ingest "$DOCS/pg")
assert_match "$out" "^[0-9]+	$DOCS/pg$" "pgkb enqueue ingest prints the job and the resolved path"
wait_for "SELECT count(*) = 5 FROM pgkb.documents WHERE status = 'chunked'" 60 "5 pages chunked"
ci="url = 'file://$DOCS/pg/sql-createindex.html'"
assert_eq "$(sql "SELECT section_title FROM archon_page_metadata WHERE $ci")" "CREATE INDEX" "page title from <title>"
assert_ge "$(sql "SELECT word_count FROM archon_page_metadata WHERE $ci")" 2000 "page word count"
assert_eq "$(sql "SELECT chunk_count = (SELECT count(*) FROM archon_crawled_pages WHERE $ci) FROM archon_page_metadata WHERE $ci")" "t" "page chunk count matches its chunks"
assert_match "$(sql "SELECT metadata->>'heading_path' FROM archon_crawled_pages WHERE $ci AND content LIKE '%CONCURRENTLY%' ORDER BY chunk_number LIMIT 1")" "^CREATE INDEX" "a chunk about CONCURRENTLY carries its heading path"
assert_match "$(sql "SELECT string_agg(DISTINCT metadata->>'heading_path', '|') FROM archon_crawled_pages WHERE $ci")" "CREATE INDEX > .*(Description|Parameters|Examples)" "heading paths go below the title"
assert_eq "$(sql "SELECT count(*) FROM archon_crawled_pages WHERE char_length(content) > 1200")" "0" "no chunk exceeds chunk_size"
assert_eq "$(sql "SELECT count(*) FROM archon_crawled_pages WHERE content ~ '(^|\n)(Prev|Next|Up|Home)\s*(\n|$)'")" "0" "navigation header/footer text is dropped"
assert_eq "$(sql "SELECT count(*) FROM archon_crawled_pages WHERE (length(content) - length(replace(content, '\`\`\`', ''))) / 3 % 2 = 1")" "0" "no chunk leaves a code fence open"
assert_ge "$(sql "SELECT count(*) FROM archon_code_examples WHERE $ci")" 3 "CREATE INDEX yields code examples"
assert_eq "$(sql "SELECT count(*) FROM archon_code_examples WHERE $ci AND metadata->>'language' = 'sql'")" "$(sql "SELECT count(*) FROM archon_code_examples WHERE $ci")" "its code examples are tagged sql"
assert_eq "$(sql "SELECT count(*) FROM archon_code_examples WHERE $ci AND content LIKE 'CREATE INDEX CONCURRENTLY sales_quantity_index%'")" "1" "the CONCURRENTLY example is a code example"
assert_eq "$(sql "SELECT count(*) FROM pgkb.jobs WHERE kind = 'embed'")" "5" "one embed job per new document, in the same transaction"
# every source's word count is the sum of its pages, once the ingest worker has folded the deltas in (~0.1 s)
WORDS_OK="(SELECT bool_and(s.total_word_count = coalesce((SELECT sum(m.word_count) FROM archon_page_metadata m
                                                         WHERE m.source_id = s.source_id), 0))
                    AND NOT EXISTS (SELECT 1 FROM pgkb.source_word_deltas) FROM archon_sources s)"
wait_for "SELECT $WORDS_OK" 10 "source word count = sum of its pages" && pass "source word count = sum of its pages (deltas folded in)"
assert_eq "$(sql "SELECT count(*) FROM archon_crawled_pages WHERE content_hash IS NULL OR length(content_hash) <> 64")" "0" "every chunk carries a content hash"

# --- unchanged re-ingest writes no row (same xmin and ctid everywhere)
snap() { sql "SELECT md5(string_agg(t, ',' ORDER BY t)) FROM (
	SELECT 'c' || ctid::text || xmin::text AS t FROM archon_crawled_pages UNION ALL
	SELECT 'e' || ctid::text || xmin::text FROM archon_code_examples UNION ALL
	SELECT 'p' || ctid::text || xmin::text FROM archon_page_metadata UNION ALL
	SELECT 's' || ctid::text || xmin::text FROM archon_sources UNION ALL
	SELECT 'd' || ctid::text || xmin::text FROM pgkb.documents) x"; }
before=$(snap)
"$PGKB" enqueue ingest "$DOCS/pg" >/dev/null
sleep 1; wait_for "SELECT count(*) = 0 FROM pgkb.jobs WHERE kind = 'ingest'" 60 "re-ingest finished"
assert_eq "$(sql "SELECT count(*) FROM pgkb.job_history WHERE kind = 'ingest' AND state = 'succeeded'")" "12" "re-ingest ran (1 + 5 jobs, twice)"
assert_eq "$(snap)" "$before" "re-ingesting unchanged pages wrote no row"
assert_eq "$(sql "SELECT count(*) FROM pgkb.jobs WHERE kind = 'embed'")" "5" "... and enqueued no embed job"

# --- a one-paragraph edit changes only the chunks around it
sel="url = 'file://$DOCS/pg/sql-select.html'"
sql "CREATE TABLE old_chunks AS SELECT id, content_hash FROM archon_crawled_pages WHERE $sel"
total=$(sql "SELECT count(*) FROM old_chunks")
python3 - "$DOCS/pg/sql-select.html" <<'PY'
import sys, re
p = sys.argv[1]; s = open(p, encoding='utf-8').read()
i = s.index('<p>', len(s) // 2)
s = s[:i] + '<p>An edited paragraph that was not in the original page at all.</p>' + s[s.index('</p>', i) + 4:]
open(p, 'w', encoding='utf-8').write(s)
PY
"$PGKB" enqueue ingest "$DOCS/pg/sql-select.html" >/dev/null
wait_for "SELECT count(*) = 1 FROM archon_crawled_pages WHERE $sel AND content LIKE '%An edited paragraph%'" 30 "the edited page was re-ingested"
assert_eq "$(sql "SELECT count(*) FROM pgkb.jobs WHERE kind = 'embed' AND payload->>'document_id' = (SELECT id::text FROM pgkb.documents WHERE $sel)")" "1" "its pending embed job is not duplicated"
kept=$(sql "SELECT count(*) FROM archon_crawled_pages c JOIN old_chunks o USING (id) WHERE c.$sel")
new=$(sql "SELECT count(*) FROM archon_crawled_pages c WHERE c.$sel AND id NOT IN (SELECT id FROM old_chunks)")
assert_ge "$total" 10 "sql-select has many chunks ($total)"
if [ "$new" -ge 1 ] && [ "$new" -le 3 ] && [ "$kept" -ge $((total - 3)) ]; then pass "edit: $new new chunk rows, $kept of $total kept"; else fail "edit: $new new, $kept of $total kept"; fi
assert_eq "$(sql "SELECT count(*) FROM archon_crawled_pages WHERE $sel AND content LIKE '%An edited paragraph%'")" "1" "the edit is in the chunks"
assert_eq "$(sql "SELECT count(*) = max(chunk_number) + 1 AND min(chunk_number) = 0 FROM archon_crawled_pages WHERE $sel")" "t" "chunk numbers stay dense after the swap"
wait_for "SELECT $WORDS_OK" 10 "word count after the edit" && pass "the source word count follows the edit"

# --- inline text
sql "INSERT INTO pgkb.jobs (kind, payload) VALUES ('ingest', '{\"content\": \"Vacuum reclaims storage.\\n\\nIt runs automatically.\", \"url\": \"note://vacuum\", \"title\": \"Vacuum notes\"}')"
wait_for "SELECT count(*) = 1 FROM pgkb.documents WHERE url = 'note://vacuum' AND kind = 'inline' AND status = 'chunked'" 20 "inline text ingested"
assert_eq "$(sql "SELECT section_title FROM archon_page_metadata WHERE url = 'note://vacuum'")" "Vacuum notes" "inline title kept"

# --- hostile input: each ends with a clear document status, the worker keeps running
printf 'caf\xc3 au lait \xff\xfe and \xed\xa0\x80 more\n\nsecond paragraph\n' >"$DOCS/bad/invalid.txt"
printf 'text with a NUL \x00 byte\n' >"$DOCS/bad/nul.txt"
: >"$DOCS/bad/empty.md"
head -c 4096 /dev/urandom >"$DOCS/bad/binary.html"; printf '\x89PNG\r\n\x1a\n' | cat - "$DOCS/bad/binary.html" >"$DOCS/bad/image.html"
python3 -c "print('<div>' * 100000 + 'deep text' + '</div>' * 100000)" >"$DOCS/bad/deep.html"
head -c 50000000 /dev/zero | tr '\0' 'a' >"$DOCS/bad/huge.txt"
"$PGKB" enqueue ingest "$DOCS/bad" >/dev/null
bad() { sql "SELECT status || ': ' || coalesce(error, '') FROM pgkb.documents WHERE url = 'file://$DOCS/bad/$1'"; }
wait_for "SELECT count(*) = 7 FROM pgkb.documents WHERE url LIKE 'file://$DOCS/bad/%' AND status <> 'queued'" 60 "hostile files processed"
assert_eq "$(bad invalid.txt)" "chunked: " "invalid UTF-8: ingested"
assert_eq "$(sql "SELECT count(*) FROM archon_crawled_pages WHERE url LIKE '%invalid.txt' AND content LIKE 'caf' || chr(65533) || ' au lait ' || chr(65533) || chr(65533) || '%'")" "1" "... with invalid bytes replaced by U+FFFD"
assert_match "$(bad nul.txt)" "^failed: not a text document \\(binary content\\)" "NUL bytes: treated as binary, never stored"
assert_eq "$(bad empty.md)" "skipped: empty document: no text to ingest" "empty file: skipped with a reason"
assert_match "$(bad image.html)" "^failed: not a text document" "binary file named .html: failed with a reason"
assert_match "$(bad binary.html)" "^failed: not a text document" "random bytes named .html: failed with a reason"
assert_match "$(bad huge.txt)" "^failed: file is 50.0 MB, larger than ingest.max_document_bytes \\(20.0 MB\\)" "50 MB file: failed with both sizes"
assert_match "$(bad deep.html)" "^(chunked: |failed: .+|skipped: .+)" "HTML nested 100,000 deep: a clear status ($(bad deep.html))"

# --- a page that becomes empty is skipped, and its words leave its source's count
mkdir -p "$DOCS/shrink"
printf '# Shrinking page\n\nThese few words will be gone soon enough.\n' >"$DOCS/shrink/page.md"
"$PGKB" enqueue ingest "$DOCS/shrink/page.md" >/dev/null
wait_for "SELECT count(*) = 1 FROM pgkb.documents WHERE url = 'file://$DOCS/shrink/page.md' AND status = 'chunked'" 20 "page ingested"
wait_for "SELECT $WORDS_OK AND (SELECT total_word_count > 0 FROM archon_sources s JOIN pgkb.documents d USING (source_id) WHERE d.url = 'file://$DOCS/shrink/page.md')" 10 "its words counted" && pass "a new source counts the words of its page"
: >"$DOCS/shrink/page.md"
"$PGKB" enqueue ingest "$DOCS/shrink/page.md" >/dev/null
wait_for "SELECT count(*) = 1 FROM pgkb.documents WHERE url = 'file://$DOCS/shrink/page.md' AND status = 'skipped'" 20 "emptied page skipped"
wait_for "SELECT $WORDS_OK AND (SELECT total_word_count = 0 FROM archon_sources s JOIN pgkb.documents d USING (source_id) WHERE d.url = 'file://$DOCS/shrink/page.md')" 10 "its words uncounted" && pass "a skipped page's words leave its source's count"

# --- the ingest-roots fence and malformed payloads: the job is dead with a readable error, nothing written
ln -s /etc/passwd "$DOCS/passwd.txt"
echo "secret" >"$T_DIR/outside/secret.md"
ln -s "$T_DIR/outside" "$DOCS/outside-link"
job() { sql "INSERT INTO pgkb.jobs (kind, payload) VALUES ('ingest', '$1') RETURNING id"; }
j1=$(job '{"path": "/etc/shadow"}'); j2=$(job "{\"path\": \"$DOCS/passwd.txt\"}"); j3=$(job "{\"path\": \"$DOCS/outside-link/secret.md\"}")
j4=$(job '{"path": "relative/file.md"}'); j5=$(job '{}'); j6=$(job '{"document_id": "7"}'); j7=$(job "{\"path\": \"$DOCS/pg\", \"bogus\": 1}")
j8=$(job '{"document_id": 999999}'); j9=$(job '{"content": "text without a url"}')
wait_for "SELECT count(*) = 9 FROM pgkb.jobs WHERE id IN ($j1,$j2,$j3,$j4,$j5,$j6,$j7,$j8,$j9) AND state = 'dead'" 20 "bad jobs dead"
err() { sql "SELECT last_error FROM pgkb.jobs WHERE id = $1"; }
assert_match "$(err "$j1")" "/etc/shadow is outside the ingest roots" "/etc/shadow refused"
assert_match "$(err "$j2")" "passwd.txt resolves to /etc/passwd, outside the ingest roots" "a symlink out of the root is refused"
assert_match "$(err "$j3")" "resolves to $T_DIR/outside/secret.md, outside" "a directory symlink out of the root is refused"
assert_match "$(err "$j4")" '"path" must be absolute' "a relative path is refused"
assert_match "$(err "$j5")" 'needs one of "document_id", "path" or "content"' "an empty payload says what is needed"
assert_match "$(err "$j6")" '"document_id" must be a positive integer' "a wrong type is named"
assert_match "$(err "$j7")" 'unknown payload key "bogus"' "an unknown key is named"
assert_match "$(err "$j8")" 'document 999999 does not exist' "a missing document is named"
assert_match "$(err "$j9")" 'needs a "url"' "inline text without a url is refused"
assert_eq "$(sql "SELECT count(*) FROM pgkb.documents WHERE url LIKE '%passwd%' OR url LIKE '%shadow%' OR url LIKE '%secret%'")" "0" "nothing outside the roots reached the knowledge base"
assert_eq "$(sql "SELECT count(*) FROM archon_crawled_pages WHERE content LIKE '%root:x:0:0%'")" "0" "no /etc/passwd content in chunks"
assert_eq "$(worker_pids "$SUP_PID")" "$worker" "the ingest worker survived everything"
kill -TERM "$SUP_PID"; wait "$SUP_PID"

# --- with the builtin provider and embed workers in the supervisor, the ingest worker embeds: rows are inserted
# with their vectors and the document is ready at once, without an embed job
write_config "$T_DIR/inline.yaml" "workers:
  ingest: {processes: 1, concurrency: 4}
  embed: {processes: 1, concurrency: 2}
  noop: {processes: 0}
  crawl: {processes: 0}
ingest:
  roots: [\"$DOCS\"]
  chunk_size: 1200
  chunk_overlap: 150
  code_min_length: 60
embed: {provider: builtin, dimension: 768}"
sup_start "$T_DIR/inline.yaml" inline
mkdir -p "$DOCS/inline"
for f in sql-createtable tutorial-window indexes-partial; do cp "$PGDOCS/$f.html" "$DOCS/inline/"; done
"$PGKB" enqueue ingest "$DOCS/inline" >/dev/null
il="url LIKE 'file://$DOCS/inline/%'"
wait_for "SELECT count(*) = 3 FROM pgkb.documents WHERE $il AND status = 'ready' AND ready_at IS NOT NULL" 60 "inline: 3 pages ready"
assert_eq "$(sql "SELECT count(*) FROM pgkb.jobs WHERE kind = 'embed' AND (payload->>'document_id')::bigint IN (SELECT id FROM pgkb.documents WHERE $il)") $(sql "SELECT count(*) FROM pgkb.job_history WHERE kind = 'embed' AND (payload->>'document_id')::bigint IN (SELECT id FROM pgkb.documents WHERE $il)")" "0 0" "ready at ingest: no embed job was enqueued"
assert_eq "$(sql "SELECT count(*) FILTER (WHERE embedding_dimension = 768 AND embedding_model = 'pgkb-builtin-v1' AND cardinality(embedding_768) = 768 AND embedding_384 IS NULL) || '/' || count(*) FROM archon_crawled_pages WHERE $il")" "$(sql "SELECT count(*) || '/' || count(*) FROM archon_crawled_pages WHERE $il")" "every chunk was inserted with a 768-dimensional builtin vector"
assert_ge "$(sql "SELECT count(*) FROM archon_code_examples WHERE $il")" 1 "the pages have code examples"
assert_eq "$(sql "SELECT count(*) FROM archon_code_examples WHERE $il AND (embedding_dimension IS DISTINCT FROM 768 OR embedding_768 IS NULL)")" "0" "... each with its vector"
assert_eq "$(sql "SELECT bool_and(abs(pgkb.l2_norm(embedding_768::real[]) - 1) < 1e-4) FROM archon_crawled_pages WHERE $il")" "t" "the vectors are unit length"
# an edited page: kept chunks keep their vectors, the new ones get theirs, and the page is ready again
win="url = 'file://$DOCS/inline/tutorial-window.html'"
before=$(sql "SELECT string_agg(content_hash || md5(embedding_768::text), ',' ORDER BY content_hash) FROM archon_crawled_pages WHERE $win")
python3 - "$DOCS/inline/tutorial-window.html" <<'PY'
import sys
p = sys.argv[1]; s = open(p, encoding='utf-8').read()
i = s.index('<p>', len(s) // 2)
s = s[:i] + '<p>A paragraph added about window frames and the partition clause.</p>' + s[i:]
open(p, 'w', encoding='utf-8').write(s)
PY
"$PGKB" enqueue ingest "$DOCS/inline/tutorial-window.html" >/dev/null
wait_for "SELECT count(*) = 1 FROM archon_crawled_pages WHERE $win AND content LIKE '%window frames and the partition clause%'" 30 "edited page re-ingested"
assert_eq "$(sql "SELECT status FROM pgkb.documents WHERE $win")" "ready" "the edited page is ready at once"
assert_eq "$(sql "SELECT count(*) FROM archon_crawled_pages WHERE $win AND embedding_dimension IS NULL")" "0" "its new chunks have vectors"
kept_same=$(sql "SELECT count(*) FROM archon_crawled_pages WHERE $win AND content_hash || md5(embedding_768::text) = ANY (string_to_array('$before', ','))")
assert_ge "$kept_same" 1 "its unchanged chunks kept their vectors ($kept_same)"
wait_for "SELECT $WORDS_OK" 10 "word counts" && pass "word counts still match"
kill -TERM "$SUP_PID"; wait "$SUP_PID"
finish
