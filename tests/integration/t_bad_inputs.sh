#!/usr/bin/env bash
# Bad input says what is wrong with it: a payload number beyond 64 bits fails every job kind with "number out
# of range", not "not a JSON object"; HTML nested 800,000 deep is skipped naming the parser's depth limit (and
# the text before the nest is kept); one source with update_frequency 1e20 does not stop the re-crawl of the
# others (pgkb.schedule_recrawls skips it with a warning naming it).
. "$(dirname "$0")/lib.sh"
pg_start
migrate
q() { sql "$1"; }

# --- re-crawls: two sources due, one with an update_frequency no interval holds
q "INSERT INTO public.archon_sources (source_id, source_url, metadata, created_at) VALUES
	('good', 'https://good.example/', '{\"update_frequency\": 1}', now() - interval '3 days'),
	('bad', 'https://bad.example/', '{\"update_frequency\": 1e20}', now() - interval '3 days')"
n=$(psql -qAtX -c "SELECT pgkb.schedule_recrawls(100)" 2>"$T_DIR/recrawl.err")
assert_eq "$n" "1" "schedule_recrawls enqueues the good source's re-crawl"
assert_eq "$(q "SELECT string_agg(dedupe_key, ' ') FROM pgkb.jobs")" "recrawl:good" "... and none for the bad one"
assert_match "$(cat "$T_DIR/recrawl.err")" "WARNING: +pgkb.schedule_recrawls: source bad has metadata.update_frequency 100000000000000000000, not a number of days from 0 to 36500" \
	"a warning names the bad source and its value"
q "DELETE FROM pgkb.jobs" # nothing to crawl here

mkdir -p "$T_DIR/docs"
python3 -c "print('<div>' * 800000 + 'deep text')" >"$T_DIR/docs/only.html"
python3 -c "print('<html><body><p>Before the nest.</p>' + '<div>' * 800000 + 'deep text')" >"$T_DIR/docs/before.html"
write_config "$T_DIR/pgkb.yaml" "workers:
  crawl: {processes: 1, concurrency: 4}
  ingest: {processes: 1}
  embed: {processes: 1}
  noop: {processes: 1}
ingest:
  roots: [$T_DIR/docs]"
sup_start "$T_DIR/pgkb.yaml" sup

# --- a number beyond 64 bits, for every job kind (jsonb keeps it exactly; jansson cannot)
big=100000000000000000000
declare -A payload=(
	[noop]="{\"sleep_ms\": $big}"
	[crawl]="{\"url\": \"http://127.0.0.1:1/\", \"max_pages\": $big}"
	[fetch]="{\"url\": \"http://127.0.0.1:1/\", \"crawl_id\": $big}"
	[ingest]="{\"document_id\": $big}"
	[embed]="{\"document_id\": $big}"
)
declare -A job
for kind in noop crawl fetch ingest embed; do
	job[$kind]=$(q "INSERT INTO pgkb.jobs (kind, payload) VALUES ('$kind', '${payload[$kind]}') RETURNING id")
done
for kind in noop crawl fetch ingest embed; do
	wait_for "SELECT state = 'dead' FROM pgkb.jobs WHERE id = ${job[$kind]}" 20 "$kind: the job is dead"
	assert_match "$(q "SELECT last_error FROM pgkb.jobs WHERE id = ${job[$kind]}")" \
		"^$kind: payload: number out of range \(too big integer\) at line 1, column [0-9]+$" \
		"$kind: last_error names the number out of range and where it is"
done

# --- HTML nested 800,000 deep (files: inline content is Markdown)
for f in only before; do
	q "INSERT INTO pgkb.jobs (kind, payload) VALUES ('ingest', '{\"path\": \"$T_DIR/docs/$f.html\", \"source_id\": \"deep\"}')" >/dev/null
done
ONLY=file://$T_DIR/docs/only.html BEFORE=file://$T_DIR/docs/before.html
wait_for "SELECT count(*) = 2 FROM pgkb.documents WHERE source_id = 'deep' AND status IN ('skipped', 'ready', 'failed')" 60 \
	"deep HTML: both documents ingested or skipped"
assert_eq "$(q "SELECT status || ': ' || error FROM pgkb.documents WHERE url = '$ONLY'")" \
	"skipped: empty document: no text to ingest (HTML nested deeper than the parser's limit of 256 elements: the text after that point is left out)" \
	"deep HTML without text before the nest: skipped, naming the depth limit"
assert_eq "$(q "SELECT status FROM pgkb.documents WHERE url = '$BEFORE'")" "ready" \
	"deep HTML with text before the nest: ingested"
assert_eq "$(q "SELECT string_agg(content, '|') FROM public.archon_crawled_pages WHERE url = '$BEFORE'" | head -c 200)" \
	"Before the nest." "... the text up to the limit is kept"
assert_match "$(cat "$T_DIR/sup.log")" "$BEFORE: HTML nested deeper than the parser's limit of 256 elements" \
	"... and the loss is logged"
kill -TERM "$SUP_PID"; wait "$SUP_PID"
finish
