#!/usr/bin/env bash
# Re-embedding (schema/087, workers/embed/reembed.c, pgkb reembed): a knowledge base embedded with the builtin
# 384-dimensional model moves to a stand-in 768-dimensional provider (embed_server.py). The embed worker says
# at start that rows carry another model; pgkb reembed --source re-embeds one source and leaves the other
# alone; then the rest is re-embedded while searches with a 384 and a 768 query vector run in a loop (no search
# ever returns a row whose stored vector is of the other dimension), and the embed worker is killed -9 in the
# middle (its jobs are retried: no row lost, none written twice). At the end every row is on the new model and
# pgkb status says so. Then the automatic path: embed.reembed_on_change with the builtin model again, two embed
# processes starting at once make one run, and the rows converge.
. "$(dirname "$0")/lib.sh"
pg_start
migrate
SERVER="$PGKB_SRC_DIR/tests/integration/embed_server.py"
PY=$(python3 -c "import sys; print(sys.executable)")  # the interpreter itself (not a shim), so $! is the server
export TEST_EMBED_KEY=sk-test-reembed

ingest_cfg() { # FILE: builtin 384, ingest and embed workers
	write_config "$1" "workers:
  ingest: {processes: 1, concurrency: 4}
  embed: {processes: 1, concurrency: 2}
  crawl: {processes: 0}
  noop: {processes: 0}
ingest:
  chunk_size: 200
  chunk_overlap: 0
  code_min_length: 40"
}
remote_cfg() { # FILE PORT [extra embed keys]: the stand-in 768-dimensional provider
	write_config "$1" "workers:
  ingest: {processes: 0}
  embed: {processes: 1, concurrency: 2}
  crawl: {processes: 0}
  noop: {processes: 0}
embed:
  provider: openai
  model: test-768
  dimension: 768
  base_url: http://127.0.0.1:$2
  api_key_env: TEST_EMBED_KEY
  batch_size: 8
  max_inflight: 2${3:+
$3}"
}
sup_stop() { kill -TERM "$SUP_PID"; wait "$SUP_PID"; }
embed_up() { # N NAME
	wait_for "SELECT count(*) = $1 FROM pg_stat_activity WHERE application_name = 'pgkb-embed' AND query LIKE 'LISTEN%'" 20 "$1 embed workers connected ($2)"
}
# rows per (model, dimension) of both tables: "model:dim:count ..." (no vector: "-:-:count")
shape() { # [WHERE]
	sql "SELECT string_agg(x, ' ' ORDER BY x) FROM (
	       SELECT coalesce(embedding_model, '-') || ':' || coalesce(embedding_dimension::text, '-') || ':' || count(*) AS x
	         FROM (SELECT embedding_model, embedding_dimension, source_id FROM archon_crawled_pages
	               UNION ALL SELECT embedding_model, embedding_dimension, source_id FROM archon_code_examples) r
	        WHERE ${1:-true} GROUP BY embedding_model, embedding_dimension) s"
}
# every row's identity and text, to compare before and after (nothing lost, nothing duplicated)
identity() {
	sql "SELECT count(*) || ' ' || md5(string_agg(id || ':' || url || ':' || chunk_number || ':' || md5(content), ',' ORDER BY id))
	       FROM (SELECT id, url, chunk_number, content FROM archon_crawled_pages
	             UNION ALL SELECT -id, url, chunk_number, content FROM archon_code_examples) r"
}

# --- a knowledge base embedded with the builtin model: sources alpha (40 notes) and beta (5 notes), each note
# several chunks and a code example
ingest_cfg "$T_DIR/ingest.yaml"
sup_start "$T_DIR/ingest.yaml" ingest
sql "INSERT INTO pgkb.jobs (kind, payload)
     SELECT 'ingest', jsonb_build_object('source_id', s, 'url', 'inline://' || s || '/' || i, 'content',
            E'# Note ' || i || E' of ' || s || E'\n\n' ||
            repeat('Vacuum reclaims the storage of dead tuples in table ' || s || i || E'. ', 4) || E'\n\n' ||
            repeat('The planner estimates row counts for partial index number ' || i || E'. ', 4) || E'\n\n' ||
            E'\`\`\`sql\nCREATE INDEX idx_' || s || i || E' ON notes_' || s || E' (created_at) WHERE done;\n\`\`\`\n')
       FROM (VALUES ('alpha', 40), ('beta', 5)) v(s, n), generate_series(1, v.n) i" >/dev/null
wait_for "SELECT count(*) = 45 FROM pgkb.documents WHERE status = 'ready'" 60 "45 notes ready"
sup_stop
chunks_alpha=$(sql "SELECT count(*) FROM archon_crawled_pages WHERE source_id = 'alpha'")
assert_ge "$chunks_alpha" 80 "alpha has several chunks per note ($chunks_alpha)"
assert_ge "$(sql "SELECT count(*) FROM archon_code_examples WHERE source_id = 'beta'")" 5 "the notes have code examples"
assert_eq "$(shape "embedding_model IS DISTINCT FROM 'pgkb-builtin-v1' OR embedding_dimension IS DISTINCT FROM 384")" "" \
	"every row starts on pgkb-builtin-v1 (384)"
before=$(identity)

# --- the model changes: the embed worker and pgkb status say that rows carry another model
"$PY" "$SERVER" --port-file "$T_DIR/api.port" --log "$T_DIR/api.jsonl" --dim 768 --latency-ms 500 \
	>"$T_DIR/api-server.log" 2>&1 &
T_PIDS+=($!)
for _ in $(seq 1 100); do [ -s "$T_DIR/api.port" ] && break; sleep 0.1; done
API=$(cat "$T_DIR/api.port")
remote_cfg "$T_DIR/remote.yaml" "$API"
sup_start "$T_DIR/remote.yaml" remote
embed_up 1 remote
for _ in $(seq 1 50); do grep -q "carry vectors of another model" "$T_DIR/remote.log" && break; sleep 0.2; done
assert_match "$(grep -m1 "carry vectors of another model" "$T_DIR/remote.log")" \
	"rows or more carry vectors of another model than test-768 \\(768\\).*pgkb reembed" "the embed worker says once that rows need pgkb reembed"
assert_eq "$(grep -c "carry vectors of another model" "$T_DIR/remote.log")" "1" "... once"
assert_eq "$(sql "SELECT count(*) FROM pgkb.jobs WHERE kind = 'reembed'")" "0" "... and starts nothing without embed.reembed_on_change"
st=$("$PGKB" -c "$T_DIR/remote.yaml" status)
assert_match "$st" "rows carry another model than the configured test-768 \\(768\\).*pgkb reembed" "pgkb status says so too"
assert_match "$st" "chunks +pgkb-builtin-v1 +384 +[0-9]+ +100.0%" "pgkb status: coverage per model and dimension"

# --- --source: beta only
out=$("$PGKB" -c "$T_DIR/remote.yaml" reembed --source beta --wait --timeout 60s 2>&1); rc=$?
assert_eq "$rc" "0" "pgkb reembed --source beta --wait exits 0"
assert_match "$out" "re-embed [0-9]+ to test-768 \\(768\\), source beta: ([0-9]+)/\\1 rows \\(100%\\)" "... and prints its progress to the end"
assert_eq "$(shape "source_id = 'beta' AND NOT (embedding_model = 'test-768' AND embedding_dimension = 768)")" "" "every row of beta is on test-768 (768)"
assert_eq "$(shape "source_id = 'alpha'")" "pgkb-builtin-v1:384:$(sql "SELECT (SELECT count(*) FROM archon_crawled_pages WHERE source_id = 'alpha') + (SELECT count(*) FROM archon_code_examples WHERE source_id = 'alpha')")" \
	"alpha is untouched"
assert_eq "$(sql "SELECT count(*) FROM archon_crawled_pages WHERE source_id = 'beta' AND (embedding_384 IS NOT NULL OR cardinality(embedding_768::real[]) <> 768)")" "0" \
	"beta's rows: the 768 column written, the 384 column cleared"
out=$("$PGKB" -c "$T_DIR/remote.yaml" reembed --source beta 2>&1)
assert_match "$out" "nothing to re-embed: every vector of source beta is from test-768 \\(768\\)" "a second pgkb reembed --source beta has nothing to do"
assert_match "$("$PGKB" -c "$T_DIR/remote.yaml" source show beta)" "chunks +test-768 +768 +[0-9]+ +100.0%" "pgkb source show: the source's coverage"
beta_rows=$(sql "SELECT (SELECT count(*) FROM archon_crawled_pages WHERE source_id = 'beta') + (SELECT count(*) FROM archon_code_examples WHERE source_id = 'beta')")
sent=$(wc -l <"$T_DIR/api.jsonl")
out=$("$PGKB" -c "$T_DIR/remote.yaml" reembed --source beta --all --wait 2>&1); rc=$?
assert_eq "$rc" "0" "pgkb reembed --source beta --all --wait exits 0"
assert_match "$out" "source beta: $beta_rows/$beta_rows rows \\(100%\\)" "--all re-embeds every row of the source, on the model already or not"
assert_ge "$(($(wc -l <"$T_DIR/api.jsonl") - sent))" 1 "... through the provider"

# --- the rest while searches run: every result row of a 768 search has a 768 vector, of a 384 search a 384
# one, in the snapshot of the search itself (one statement)
search_sql() { # DIM: "results wrong" of a vector search and of a hybrid search (its vector-ranked rows)
	echo "(SELECT count(*) || ' ' || count(*) FILTER (WHERE p.embedding_dimension IS DISTINCT FROM $1 OR p.embedding_$1 IS NULL)
	         FROM match_archon_crawled_pages_multi(pgkb.to_embedding(array_fill(0.05::real, ARRAY[$1])), $1, 30) m
	         JOIN archon_crawled_pages p ON p.id = m.id),
	       (SELECT count(*) || ' ' || count(*) FILTER (WHERE p.embedding_dimension IS DISTINCT FROM $1 OR p.embedding_$1 IS NULL)
	         FROM hybrid_search_archon_crawled_pages_multi(pgkb.to_embedding(array_fill(0.05::real, ARRAY[$1])), $1,
	                                                      'vacuum planner', 30) m
	         JOIN archon_crawled_pages p ON p.id = m.id WHERE m.match_type <> 'keyword')"
}
(while [ ! -e "$T_DIR/stop-searches" ]; do
	if r=$(sql "SELECT $(search_sql 384), $(search_sql 768)" 2>>"$T_DIR/searches.err"); then
		echo "$r" | tr '|' ' ' >>"$T_DIR/searches.txt"
	else
		echo "error" >>"$T_DIR/searches.txt"
	fi
done) &
SEARCH_PID=$!
T_PIDS+=("$SEARCH_PID")
out=$("$PGKB" -c "$T_DIR/remote.yaml" reembed --batch 20 2>&1); rc=$?
assert_eq "$rc" "0" "pgkb reembed exits 0"
assert_match "$out" "re-embed [0-9]+ to test-768 \\(768\\): 0/[0-9]+ rows \\(0%\\)" "pgkb reembed prints the run and returns"
run=$(sql "SELECT DISTINCT payload->>'reembed_id' FROM pgkb.jobs WHERE kind = 'reembed'")
assert_ge "$(sql "SELECT count(*) FROM pgkb.jobs WHERE kind = 'reembed'")" 5 "the run is many bounded jobs"
assert_eq "$(sql "SELECT max((payload->>'rows')::int) <= 20 FROM pgkb.jobs WHERE kind = 'reembed'")" "t" "... of at most --batch rows"
# kill -9 the embed worker while it runs reembed jobs; the supervisor starts another, the jobs' leases expire
wait_for "SELECT done > 0 FROM pgkb.reembed_progress($run)" 30 "re-embed under way"
wait_for "SELECT count(*) > 0 FROM pgkb.jobs WHERE kind = 'reembed' AND state = 'running'" 10 "a reembed job running"
victim=$(worker_pids "$SUP_PID")
kill -KILL $victim
log "killed embed worker $victim"
st=$("$PGKB" -c "$T_DIR/remote.yaml" status)
assert_match "$st" "re-embed $run to test-768 \\(768\\): [0-9]+/[0-9]+ rows" "pgkb status shows the run's progress"
out=$("$PGKB" -c "$T_DIR/remote.yaml" reembed --wait --timeout 120s 2>&1); rc=$?
assert_eq "$rc" "0" "pgkb reembed --wait joins the run under way and exits 0 when it is done"
assert_match "$out" "re-embed $run to test-768 \\(768\\): ([0-9]+)/\\1 rows \\(100%\\), 0 of [0-9]+ jobs queued or running" \
	"... the same run, to 100%"
touch "$T_DIR/stop-searches"
wait "$SEARCH_PID"
searches=$(wc -l <"$T_DIR/searches.txt")
assert_ge "$searches" 5 "searches ran meanwhile ($searches)"
assert_eq "$(grep -c error "$T_DIR/searches.txt")" "0" "no search failed"
assert_eq "$(awk '$2 + $4 + $6 + $8 > 0' "$T_DIR/searches.txt" | wc -l)" "0" \
	"no search returned a row whose stored vector is of the other dimension"
assert_ge "$(awk '$1 > 0 && $5 > 0' "$T_DIR/searches.txt" | wc -l)" 1 "some searches ran while both dimensions had rows"
assert_eq "$(shape)" "test-768:768:$(sql "SELECT (SELECT count(*) FROM archon_crawled_pages) + (SELECT count(*) FROM archon_code_examples)")" \
	"at the end every row is on test-768 (768)"
assert_eq "$(sql "SELECT count(*) FROM (SELECT embedding_384, embedding_768 FROM archon_crawled_pages UNION ALL SELECT embedding_384, embedding_768 FROM archon_code_examples) r
                  WHERE embedding_384 IS NOT NULL OR cardinality(embedding_768::real[]) IS DISTINCT FROM 768")" "0" \
	"no row carries a 384 vector beside its 768 one"
assert_eq "$(identity)" "$before" "the same rows with the same text: nothing lost, nothing duplicated"
assert_ge "$(sql "SELECT count(*) FROM pgkb.job_history WHERE kind = 'reembed' AND (payload->>'reembed_id')::bigint = $run AND attempts > 1")" 1 \
	"a job the kill interrupted was retried"
assert_eq "$(sql "SELECT jobs_dead || ' ' || (done = total) FROM pgkb.reembed_progress($run)")" "0 true" "no reembed job died"
stored=$(python3 -c "import json; print(sum(json.loads(l)['inputs'] for l in open('$T_DIR/api.jsonl')))")
rows=$(sql "SELECT (SELECT count(*) FROM archon_crawled_pages) + (SELECT count(*) FROM archon_code_examples)")
log "texts sent to the provider: $stored for $rows rows"
assert_eq "$(sql "SELECT string_agg(tbl || ':' || model || ':' || dimension || ':' || share, ' ' ORDER BY tbl) FROM pgkb.vector_coverage()")" \
	"code:test-768:768:100.0 pages:test-768:768:100.0" "pgkb.vector_coverage: 100% on the new model"
st=$("$PGKB" -c "$T_DIR/remote.yaml" status)
assert_match "$st" "chunks +test-768 +768 +[0-9]+ +100.0%" "pgkb status: 100% of the chunks on test-768"
assert_eq "$(printf '%s' "$st" | grep -c "carry another model")" "0" "... and no longer says that rows need pgkb reembed"
sup_stop

# --- automatic: embed.reembed_on_change with the builtin model again; two embed processes start at once
write_config "$T_DIR/auto.yaml" "workers:
  ingest: {processes: 0}
  embed: {processes: 2, concurrency: 2}
  crawl: {processes: 0}
  noop: {processes: 0}
embed:
  reembed_on_change: true"
sup_start "$T_DIR/auto.yaml" auto
embed_up 2 auto
wait_for "SELECT count(*) = 0 FROM pgkb.jobs WHERE kind = 'reembed' AND state IN ('queued', 'running')
          AND EXISTS (SELECT 1 FROM pgkb.job_history WHERE kind = 'reembed' AND payload->>'model' = 'pgkb-builtin-v1')" 60 \
	"the automatic re-embed ran"
assert_eq "$(sql "SELECT count(DISTINCT payload->>'reembed_id') FROM (SELECT payload FROM pgkb.jobs WHERE kind = 'reembed' UNION ALL SELECT payload FROM pgkb.job_history WHERE kind = 'reembed') j WHERE payload->>'model' = 'pgkb-builtin-v1'")" "1" \
	"two embed workers starting at once made one run"
assert_eq "$(shape)" "pgkb-builtin-v1:384:$rows" "the rows converge on pgkb-builtin-v1 (384)"
assert_match "$(grep -m1 "re-embed run" "$T_DIR/auto.log")" "carry another model's vectors than pgkb-builtin-v1 \\(384\\): re-embed run [0-9]+ is under way" \
	"the worker logs the run it started"
assert_eq "$(identity)" "$before" "still the same rows"
sup_stop
# a restart with nothing off target starts nothing
sup_start "$T_DIR/auto.yaml" auto2
embed_up 2 auto2
sleep 1
assert_eq "$(sql "SELECT count(*) FROM pgkb.jobs WHERE kind = 'reembed'")" "0" "a restart on converged rows starts no run"
sup_stop

# --- runs of one scope (no workers now): the same target joins the run; another target supersedes it, its queued
# and dead jobs cancelled
a=$(sql "SELECT pgkb.reembed('x-model', 768, 'beta')")
assert_eq "$(sql "SELECT pgkb.reembed('x-model', 768, 'beta')")" "$a" "pgkb.reembed for a scope and target under way returns that run"
sql "UPDATE pgkb.jobs SET state = 'dead', last_error = 'test' WHERE id = (SELECT min(id) FROM pgkb.jobs WHERE payload->>'reembed_id' = '$a')"
b=$(sql "SELECT pgkb.reembed('y-model', 1024, 'beta')")
assert_eq "$(sql "SELECT $b <> $a, count(*) FILTER (WHERE payload->>'reembed_id' = '$a'), count(*) FILTER (WHERE payload->>'reembed_id' = '$b') > 0 FROM pgkb.jobs")" "t|0|t" \
	"another target: a new run, the old run's queued and dead jobs gone"
assert_eq "$(sql "SELECT DISTINCT state || ': ' || last_error FROM pgkb.job_history WHERE payload->>'reembed_id' = '$a'")" "cancelled: superseded by a re-embed to y-model (1024)" \
	"... cancelled, with the reason"
assert_eq "$(sql "SELECT done || ' ' || jobs_pending || ' ' || final FROM pgkb.reembed_progress($b)")" "0 $(sql "SELECT count(*) FROM pgkb.jobs WHERE payload->>'reembed_id' = '$b'") false" \
	"pgkb.reembed_progress of a run not started"
assert_eq "$(sql "SELECT count(*) FROM pgkb.jobs WHERE kind = 'reembed' AND payload->>'source_id' IS DISTINCT FROM 'beta'")" "0" "a --source run has jobs of that source only"
"$PGKB" -c "$T_DIR/auto.yaml" source delete beta >"$T_DIR/delete.out" 2>&1
assert_eq "$(sql "SELECT count(*) FROM pgkb.jobs WHERE kind = 'reembed' AND payload->>'source_id' = 'beta'")" "0" \
	"pgkb source delete cancels the source's re-embed jobs"
assert_eq "$(sql "SELECT count(*) FROM pgkb.job_history WHERE kind = 'reembed' AND payload->>'reembed_id' = '$b' AND state = 'cancelled' AND last_error = 'source beta deleted'")" \
	"$(sql "SELECT count(*) FROM pgkb.job_history WHERE kind = 'reembed' AND payload->>'reembed_id' = '$b'")" "... as cancelled, with the reason"

# --- the SQL function's refusals
assert_match "$(sql "SELECT pgkb.reembed('m', 999)" 2>&1)" "dimension 999 has no embedding column" "pgkb.reembed refuses a dimension without a column"
assert_match "$(sql "SELECT pgkb.reembed('m', 768, 'nosuch')" 2>&1)" "no source \"nosuch\"" "pgkb.reembed refuses an unknown source"
assert_match "$(sql "SELECT pgkb.reembed('m', 768, NULL, false, 5000)" 2>&1)" "the batch must be 1 to 1000 rows" "pgkb.reembed bounds the batch"
finish
