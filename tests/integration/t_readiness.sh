#!/usr/bin/env bash
# Readiness and failures in plain sight (schema/085_readiness.sql, cmd/pgkb/cli_wait.c, cli_documents.c): an
# application LISTENing on pgkb_documents gets exactly one notification per document with its final status (100
# inline documents, a crawl of a loopback site); pgkb.job_documents / pgkb.job_progress for an inline job, a
# directory job (its per-file jobs found by parent_job_id) and a crawl; pgkb wait and enqueue --wait; pgkb
# documents, jobs --full and status show whole errors; long notification payloads are cut to fit.
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
FILES=$T_DIR/files
mkdir -p "$FILES/dir"
printf '# Alpha\n\nThe first file of the directory.\n' >"$FILES/dir/a.md"
printf 'Beta: plain text, the second file.\n' >"$FILES/dir/b.txt"
: >"$FILES/dir/empty.md"
{ printf 'PK\0\0'; head -c 2048 /dev/urandom; } >"$FILES/dir/binary.txt"
chmod -R a+rX "$FILES"

write_config "$T_DIR/pgkb.yaml" "workers:
  crawl: {processes: 1, concurrency: 8}
  ingest: {processes: 1, concurrency: 4}
  embed: {processes: 1, concurrency: 2}
  noop: {processes: 0}
crawl:
  allow_private_addresses: true
  host_delay: 0ms
  host_concurrency: 4
  timeout: 10s
ingest:
  roots: [\"$FILES\"]"

# --- the application: a psql session that LISTENs and runs a statement every 0.2 s (psql prints the
# notifications that arrived after each statement)
mkfifo "$T_DIR/listen.fifo"
PGAPPNAME=listener psql -qAtX <"$T_DIR/listen.fifo" >"$T_DIR/notes.out" 2>&1 &
T_PIDS+=("$!")
exec 7>"$T_DIR/listen.fifo"
echo "LISTEN pgkb_documents;" >&7
(while echo "SELECT 1;" >&7 2>/dev/null; do sleep 0.2; done) &
T_PIDS+=("$!")
wait_for "SELECT count(*) = 1 FROM pg_stat_activity WHERE application_name = 'listener'" 10 "listener up"
# notes: one line per notification, its JSON payload
notes() { sed -n 's/^Asynchronous notification "pgkb_documents" with payload "\(.*\)" received from server process with PID [0-9]*\.$/\1/p' "$T_DIR/notes.out"; }

sup_start "$T_DIR/pgkb.yaml" sup
wait_for "SELECT count(*) = 3 FROM pg_stat_activity WHERE query LIKE 'LISTEN pgkb_jobs%'" 20 "workers up"

# --- 100 inline documents in one INSERT, waited for with pgkb wait
ids=$(sql "INSERT INTO pgkb.jobs (kind, payload)
           SELECT 'ingest', jsonb_build_object('content', E'# Note ' || i || E'\n\nThe text of note number ' || i || '.',
                                               'url', 'inline://note/' || i, 'source_id', 'notes')
             FROM generate_series(1, 100) i RETURNING id" | tr '\n' ' ')
out=$("$PGKB" wait $ids --timeout 60s); rc=$?
assert_eq "$rc" "0" "pgkb wait for 100 inline jobs exits 0 when all are ready"
assert_eq "$(printf '%s\n' "$out" | grep -c 'documents: 1 ready, 0 failed')" "100" "... one line per job, each 1 ready"
first=${ids%% *}
assert_eq "$(sql "SELECT url || ' ' || status || ' ' || source_id || ' ' || (job_id = $first) FROM pgkb.job_documents($first)")" \
	"inline://note/1 ready notes true" "job_documents of an inline job: its document, ready"
assert_eq "$(sql "SELECT state || ' ' || jobs || ' ' || documents || ' ' || ready || ' ' || failed || ' ' || final FROM pgkb.job_progress($first)")" \
	"succeeded 1 1 1 0 true" "job_progress of an inline job: final"

# --- not final while the job waits; pgkb wait times out (exit 3)
later=$(sql "INSERT INTO pgkb.jobs (kind, payload, run_at) VALUES ('ingest', '{\"content\": \"later\", \"url\": \"inline://later\"}', now() + interval '1 hour') RETURNING id")
assert_eq "$(sql "SELECT state || ' ' || jobs_pending || ' ' || final FROM pgkb.job_progress($later)")" "queued 1 false" "a queued job is not final"
out=$("$PGKB" wait "$later" --timeout 1s 2>&1); rc=$?
assert_eq "$rc" "3" "pgkb wait --timeout exits 3 when the job is not final"
assert_match "$out" "not final: job $later .*1 jobs queued or running" "... and says where the job stands"
sql "DELETE FROM pgkb.jobs WHERE id = $later"
out=$("$PGKB" wait 999999 2>&1); rc=$?
assert_eq "$rc" "1" "pgkb wait for an unknown job exits 1"
assert_match "$out" "no job 999999" "... naming it"

# --- a directory: per-file jobs found by parent_job_id; an empty file skipped, a binary one failed
dirjob=$("$PGKB" enqueue ingest --source dir "$FILES/dir" | cut -f1)
out=$("$PGKB" wait "$dirjob" --timeout 60s); rc=$?
assert_eq "$rc" "1" "pgkb wait for a directory with a failed file exits 1"
assert_match "$out" "failed document [0-9]+: file://$FILES/dir/binary.txt" "... naming the failed file"
assert_match "$out" "not a text document" "... and why"
assert_eq "$(sql "SELECT count(*) FROM pgkb.job_history WHERE payload->>'parent_job_id' = '$dirjob'")" "4" "the per-file jobs carry the directory job's id"
assert_eq "$(sql "SELECT jobs || ' ' || documents || ' ' || ready || ' ' || skipped || ' ' || failed || ' ' || final FROM pgkb.job_progress($dirjob)")" \
	"5 4 2 1 1 true" "job_progress of a directory: 1 + 4 jobs, 2 ready, 1 skipped, 1 failed, final"
assert_eq "$(sql "SELECT string_agg(replace(url, 'file://$FILES/dir/', '') || ':' || status, ' ' ORDER BY url) FROM pgkb.job_documents($dirjob)")" \
	"a.md:ready b.txt:ready binary.txt:failed empty.md:skipped" "job_documents of a directory: each file with its status"
assert_eq "$(sql "SELECT count(DISTINCT job_id) FROM pgkb.job_documents($dirjob) WHERE job_id <> $dirjob")" "4" "... each from its per-file job"

# --- a crawl through enqueue --wait: a 404 page is gone, the robots.txt-disallowed and image pages skipped
out=$("$PGKB" enqueue crawl "$BASE/" --source-id site --wait --timeout 120s); rc=$?
crawljob=$(printf '%s\n' "$out" | head -1)
assert_match "$crawljob" "^[0-9]+$" "pgkb enqueue crawl --wait prints the job id first"
assert_eq "$rc" "$(sql "SELECT CASE WHEN count(*) FILTER (WHERE status = 'failed') > 0 THEN 1 ELSE 0 END FROM pgkb.documents WHERE source_id = 'site'")" "... and exits non-zero only if a page failed"
assert_match "$out" "job $crawljob \\(crawl, succeeded\\): [0-9]+ documents: [0-9]+ ready, [0-9]+ failed, [0-9]+ skipped, 1 gone" "... with its summary"
assert_eq "$(sql "SELECT count(*) = documents AND final AND gone = 1 AND skipped >= 2 AND queued + fetched + chunked + embedded = 0 FROM pgkb.job_progress($crawljob), pgkb.job_documents($crawljob) GROUP BY documents, final, gone, skipped, queued, fetched, chunked, embedded")" \
	"t" "job_progress of a crawl: final, every document final, one gone, skipped pages"
assert_eq "$(sql "SELECT status || ':' || error FROM pgkb.job_documents($crawljob) WHERE url = '$BASE/missing.html'")" "gone:HTTP 404" "job_documents of a crawl: the 404 page gone, with why"
assert_eq "$(sql "SELECT count(*) FROM pgkb.job_documents($crawljob)")" "$(sql "SELECT count(*) FROM pgkb.documents d JOIN pgkb.crawls c ON c.id = d.crawl_id WHERE c.job_id = $crawljob")" "job_documents of a crawl: every document of its crawl"

# --- exactly one notification per document, with its final status
sleep 0.5
notes >"$T_DIR/notes.json"
check=$(python3 - "$T_DIR/notes.json" "$crawljob" <<'PY'
import json, sys, collections
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
crawl = int(sys.argv[2])
per = collections.Counter(r['document_id'] for r in rows)
inline = [r for r in rows if r['url'].startswith('inline://note/')]
crawled = [r for r in rows if r['source_id'] == 'site']
print(len(inline), len({r['document_id'] for r in inline}), all(r['status'] == 'ready' for r in inline),
      len(crawled), max(per.values()), all(r['job_id'] == crawl for r in crawled),
      ','.join(sorted({r['status'] for r in crawled})))
for r in crawled:
    print('doc', r['document_id'], r['status'])
PY
)
head=$(printf '%s\n' "$check" | head -1)
ncrawl=$(sql "SELECT count(*) FROM pgkb.documents WHERE source_id = 'site'")
assert_match "$head" "^100 100 True $ncrawl 1 True " "one notification per document: 100 inline (ready), $ncrawl crawled (with the crawl's job id), none twice"
assert_eq "$(printf '%s\n' "$check" | grep '^doc ' | sort)" "$(sql "SELECT 'doc ' || id || ' ' || status FROM pgkb.documents WHERE source_id = 'site'" | sort)" "each crawled page's notification carries its final status"

# --- pgkb documents: the whole reason
long=$(python3 -c "print(' '.join('reason%03d' % i for i in range(30)))")   # 299 characters
sql "INSERT INTO pgkb.documents (source_id, url, status, error) VALUES ('notes', 'inline://broken', 'failed', '$long')"
out=$("$PGKB" documents --status failed)
assert_match "$out" "failed  dir  .*file://$FILES/dir/binary.txt" "pgkb documents --status failed lists the failed file"
assert_eq "$(printf '%s\n' "$out" | sed -n '/inline:\/\/broken/,/^[0-9]/p' | grep '^    ' | sed 's/^    //' | paste -sd ' ')" "$long" "... with the whole reason (wrapped)"
assert_eq "$("$PGKB" documents --job "$dirjob" | grep -c '^[0-9]')" "4" "pgkb documents --job: the documents of a job"
out=$("$PGKB" documents --status broken 2>&1); rc=$?
assert_eq "$rc" "2" "pgkb documents with an unknown status is a usage error"

# --- pgkb jobs --full: a 300-character error whole
err=$(python3 -c "print(' '.join('error%04d' % i for i in range(30)) + 'xx')")   # 300 characters
dead=$(sql "INSERT INTO pgkb.jobs (kind, payload, max_attempts) VALUES ('noop', jsonb_build_object('fail', '$err'), 1) RETURNING id")
wait_for "SELECT state = 'dead' FROM pgkb.jobs WHERE id = $dead" 20 "a noop job failing with a 300-character error is dead"
assert_match "$("$PGKB" jobs --dead)" "pgkb jobs --full prints them whole" "pgkb jobs says when it cut an error"
out=$("$PGKB" jobs --dead --full)
assert_eq "$(printf '%s\n' "$out" | sed -n "/^$dead /,/^[0-9]/p" | grep '^      ' | sed 's/^      //' | paste -sd ' ')" "$err" "pgkb jobs --full shows a 300-character error whole"

# --- pgkb status: the most recent failures
out=$("$PGKB" status)
assert_match "$out" "Recent failures" "pgkb status has a recent failures section"
assert_match "$out" "inline://broken" "... with the latest failed document"
assert_match "$out" "job $dead \\(noop, 1 attempts\\)" "... and the dead job"

# --- a stored page whose ingest job dies fails with the job's error (else its crawl never ends)
doc=$(sql "INSERT INTO pgkb.documents (source_id, url, status, body) VALUES ('site', '$BASE/stored', 'fetched', 'x') RETURNING id")
job=$(sql "INSERT INTO pgkb.jobs (kind, payload, run_at) VALUES ('ingest', jsonb_build_object('document_id', $doc), now() + interval '1 hour') RETURNING id")
sql "UPDATE pgkb.jobs SET state = 'dead', last_error = 'boom' WHERE id = $job"
assert_eq "$(sql "SELECT status || ':' || error FROM pgkb.documents WHERE id = $doc")" "failed:ingest job $job died: boom" "an ingest job's death fails its stored page"
assert_eq "$(sql "SELECT failed || ' ' || jobs_dead || ' ' || final FROM pgkb.job_progress($job)")" "1 1 true" "... and its progress is final and failed"

# --- payloads past NOTIFY's 8000 bytes are cut, also for characters JSON escapes
: >"$T_DIR/notes.out"
sql "UPDATE pgkb.documents SET status = 'failed', error = repeat('é', 9000) WHERE url = 'inline://note/1'"
sql "UPDATE pgkb.documents SET status = 'failed', error = repeat(chr(1), 9000) WHERE url = 'inline://note/2'"
sleep 0.6
assert_eq "$(notes | python3 -c "
import sys, json
lines = [l.rstrip(b'\n') for l in sys.stdin.buffer if l.strip()]
rows = [json.loads(l) for l in lines]
print(len(rows), all(len(l) < 8000 for l in lines), all(r['truncated'] and len(r['error']) >= 500 for r in rows),
      sorted(r['url'] for r in rows))")" \
	"2 True True ['inline://note/1', 'inline://note/2']" "long errors: notified, cut under 8000 bytes, marked truncated"

exec 7>&-
kill -TERM "$SUP_PID"; wait "$SUP_PID"
finish
