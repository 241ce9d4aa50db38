#!/usr/bin/env bash
# The embed worker with the openai provider against embed_server.py on 127.0.0.1 (the remote API's stand-in):
# batching by count and by estimated tokens, requests in flight, the API key sent, 429 retried, Retry-After
# honoured, 5xx retried, quota exhaustion and a wrong dimension failing at once (dead, the provider's message in
# last_error, never the key), malformed JSON, a response that never ends, connection refused, connect timeout,
# and the host-wide rate limit shared by two worker processes.
. "$(dirname "$0")/lib.sh"
pg_start
migrate
export PGKB_RATELIMIT_DIR=$T_DIR   # the shared limiter's file lives with the test
export TEST_EMBED_KEY=sk-test-SECRET-0123456789abcdef
SERVER="$PGKB_SRC_DIR/tests/integration/embed_server.py"
PY=$(python3 -c "import sys; print(sys.executable)")  # the interpreter itself (not a shim), so $! is the server

server_start() { # NAME [args]: starts the stand-in (not in a subshell, so cleanup kills it); port in $PORT,
	local name=$1; shift   # request log in $T_DIR/NAME.jsonl
	"$PY" "$SERVER" --port-file "$T_DIR/$name.port" --log "$T_DIR/$name.jsonl" "$@" >"$T_DIR/$name-server.log" 2>&1 &
	T_PIDS+=($!)
	for _ in $(seq 1 100); do [ -s "$T_DIR/$name.port" ] && break; sleep 0.1; done
	PORT=$(cat "$T_DIR/$name.port")
}
plan() { # PLAN: new plan on the main stand-in, request log emptied
	: >"$T_DIR/api.jsonl"
	curl -s -X POST -d "{\"plan\": \"$1\"}" "http://127.0.0.1:$API/control" >/dev/null
}
reqs() { python3 -c "import json,sys; print(*[json.loads(l)[sys.argv[2]] for l in open(sys.argv[1])])" "$T_DIR/api.jsonl" "$1"; }
make_doc() { # URL NCHUNKS TEXT_SQL: prints the document id (one code example too)
	sql "INSERT INTO archon_sources (source_id, source_url) VALUES ('s', 'https://s.test/') ON CONFLICT DO NOTHING;
	     INSERT INTO archon_crawled_pages (url, chunk_number, content, source_id)
	     SELECT '$1', g, $3, 's' FROM generate_series(1, $2) g;
	     INSERT INTO archon_code_examples (url, chunk_number, content, summary, source_id)
	     VALUES ('$1', 1, 'SELECT 1;', 'one', 's');" &&
	sql "INSERT INTO pgkb.documents (source_id, url, status) VALUES ('s', '$1', 'chunked') RETURNING id"
}
enqueue_embed() { # DOC_ID [MAX_ATTEMPTS]: prints the job id
	sql "INSERT INTO pgkb.jobs (kind, payload, dedupe_key, max_attempts)
	     VALUES ('embed', jsonb_build_object('document_id', $1), 'embed:$1', ${2:-5}) RETURNING id"
}
config() { # FILE BASE_URL [extra embed keys]
	write_config "$1" "workers:
  embed: {processes: ${EMBED_PROCS:-1}, concurrency: ${EMBED_CONC:-4}}
  ingest: {processes: 0}
  crawl: {processes: 0}
  noop: {processes: 0}
embed:
  provider: openai
  model: test-model
  base_url: $2
  api_key_env: TEST_EMBED_KEY
  batch_size: ${BATCH:-8}
  max_inflight: 2
  timeout: 1s${3:+
$3}"
}
sup_run() { # CONFIG NAME: starts a supervisor and waits for its embed workers
	sup_start "$1" "$2"
	wait_for "SELECT count(*) = ${EMBED_PROCS:-1} FROM pg_stat_activity WHERE application_name = 'pgkb-embed' AND query LIKE 'LISTEN%'" 20 "embed workers connected ($2)"
}
sup_stop() { kill -TERM "$SUP_PID"; wait "$SUP_PID"; }
dead_error() { sql "SELECT state || ': ' || last_error FROM pgkb.jobs WHERE id = $1"; }

server_start api --dim 384; API=$PORT
config "$T_DIR/main.yaml" "http://127.0.0.1:$API"
sup_run "$T_DIR/main.yaml" sup

# --- batching by count: 20 chunks + 1 code example, batch_size 8 -> 8, 8, 5, two in flight
plan ok
d=$(make_doc https://s.test/batch 20 "'chunk number ' || g")
enqueue_embed "$d" >/dev/null
wait_for "SELECT status = 'ready' FROM pgkb.documents WHERE id = $d" 20 "batched document ready"
assert_eq "$(reqs inputs | tr ' ' '\n' | sort -n | tr '\n' ' ')" "5 8 8 " "requests of 8, 8 and 5 texts"
assert_eq "$(reqs path | tr ' ' '\n' | sort -u)" "/v1/embeddings" "POST /v1/embeddings"
assert_eq "$(reqs key | tr ' ' '\n' | sort -u)" "True" "the API key is sent (Bearer)"
assert_eq "$(sql "SELECT count(*) FROM archon_crawled_pages WHERE url = 'https://s.test/batch'
                  AND embedding_model = 'test-model' AND embedding_dimension = 384")" "20" "vectors stored with the provider's model"

# --- batching by estimated tokens: 12 texts of 40,000 ASCII bytes (~10,000 tokens each) and a short one -> 6, 7
# (65,536 per request, under batch_size 8)
plan ok
d=$(make_doc https://s.test/tokens 12 "repeat('abcd ', 8000)")
enqueue_embed "$d" >/dev/null
wait_for "SELECT status = 'ready' FROM pgkb.documents WHERE id = $d" 20 "long-text document ready"
assert_eq "$(reqs inputs | tr ' ' '\n' | sort -n | tr '\n' ' ')" "6 7 " "requests capped by estimated tokens: 6 and 6 long texts + the short one"

# --- 429 then success; a 500 then success
plan 429,500,ok
d=$(make_doc https://s.test/retry 3 "'retry ' || g")
j=$(enqueue_embed "$d")
wait_for "SELECT status = 'ready' FROM pgkb.documents WHERE id = $d" 20 "429 and 500 retried, then ready"
assert_eq "$(reqs plan)" "429 500 ok" "three requests: 429, 500, success"
assert_eq "$(sql "SELECT attempts FROM pgkb.job_history WHERE id = $j")" "1" "retried inside the job (one job attempt)"

# --- Retry-After honoured
plan 429:2,ok
d=$(make_doc https://s.test/retry-after 2 "'ra ' || g")
enqueue_embed "$d" >/dev/null
wait_for "SELECT status = 'ready' FROM pgkb.documents WHERE id = $d" 20 "Retry-After document ready"
gap=$(python3 -c "import json; t=[json.loads(l)['t'] for l in open('$T_DIR/api.jsonl')]; print(int((t[1]-t[0])*1000))")
assert_ge "$gap" 1950 "the retry waited for Retry-After: 2 (${gap} ms)"

# --- quota exhaustion: dead at once, provider's message, no key
plan quota
d=$(make_doc https://s.test/quota 2 "'q ' || g")
j=$(enqueue_embed "$d")
wait_for "SELECT state = 'dead' FROM pgkb.jobs WHERE id = $j" 20 "quota: job dead"
e=$(dead_error "$j")
assert_match "$e" "insufficient_quota.*You exceeded your current quota" "quota: the provider's message in last_error"
assert_eq "$(printf '%s' "$e" | grep -c "$TEST_EMBED_KEY")" "0" "quota: the API key is not in last_error"
assert_eq "$(grep -c "$TEST_EMBED_KEY" "$T_DIR/sup.log")" "0" "the API key is never logged"
assert_eq "$(sql "SELECT attempts FROM pgkb.jobs WHERE id = $j")" "1" "quota: not retried"
assert_eq "$(reqs n | wc -w)" "1" "quota: one request"
assert_match "$(sql "SELECT status || ': ' || error FROM pgkb.documents WHERE id = $d")" "^failed: embed job $j died: embed \\(quota\\)" \
	"quota: the document fails with the dead job's error (087), not chunked forever"

# --- wrong dimension
plan dim:768
d=$(make_doc https://s.test/dim 2 "'d ' || g")
j=$(enqueue_embed "$d")
wait_for "SELECT state = 'dead' FROM pgkb.jobs WHERE id = $j" 20 "wrong dimension: job dead"
assert_match "$(dead_error "$j")" "dead: embed \\(dimension\\) provider returned 768-dimensional vectors, configured embed.dimension is 384" \
	"wrong dimension: a clear error"

# --- malformed JSON: the attempt fails (not permanent), here the last one
plan badjson
d=$(make_doc https://s.test/json 2 "'j ' || g")
j=$(enqueue_embed "$d" 1)
wait_for "SELECT state = 'dead' FROM pgkb.jobs WHERE id = $j" 20 "malformed JSON: attempt failed"
assert_match "$(dead_error "$j")" "embed \\(protocol\\)" "malformed JSON: a protocol error"

# --- a response that never ends: the 1 s total timeout, retried in the job, then the attempt fails
plan hang
d=$(make_doc https://s.test/hang 2 "'h ' || g")
j=$(enqueue_embed "$d" 1)
wait_for "SELECT state = 'dead' FROM pgkb.jobs WHERE id = $j" 40 "endless response: attempt failed"
assert_match "$(dead_error "$j")" "embed \\(transport\\) timeout.*in-job attempts exhausted" "endless response: a timeout, after the in-job attempts"
assert_eq "$(reqs n | wc -w)" "4" "endless response: 4 in-job attempts"
sup_stop

# --- connection refused
REFUSED=$(free_port)
config "$T_DIR/refused.yaml" "http://127.0.0.1:$REFUSED"
sup_run "$T_DIR/refused.yaml" sup-refused
d=$(make_doc https://s.test/refused 1 "'r'")
j=$(enqueue_embed "$d" 1)
wait_for "SELECT state = 'dead' FROM pgkb.jobs WHERE id = $j" 40 "connection refused: attempt failed"
assert_match "$(dead_error "$j")" "embed \\(transport\\) connect" "connection refused: a connect error"
sup_stop

# --- connect timeout: a listener that never accepts
server_start hole --blackhole; HOLE=$PORT
config "$T_DIR/hole.yaml" "http://127.0.0.1:$HOLE"
sup_run "$T_DIR/hole.yaml" sup-hole
d=$(make_doc https://s.test/hole 1 "'t'")
j=$(enqueue_embed "$d" 1)
wait_for "SELECT state = 'dead' FROM pgkb.jobs WHERE id = $j" 40 "connect timeout: attempt failed"
assert_match "$(dead_error "$j")" "embed \\(transport\\) timeout" "connect timeout: a timeout error"
sup_stop

# --- the rate limit is shared by the host's workers: 30 requests/minute (a burst of 5, then one per 2 s) for two
# processes; 8 one-text requests take at least 3 * 2 s after the burst
plan ok
EMBED_PROCS=2 EMBED_CONC=1 BATCH=1 config "$T_DIR/rl.yaml" "http://127.0.0.1:$API" "  requests_per_minute: 30"
EMBED_PROCS=2 sup_run "$T_DIR/rl.yaml" sup-rl
d1=$(make_doc https://s.test/rl1 3 "'rl one ' || g"); d2=$(make_doc https://s.test/rl2 3 "'rl two ' || g")
enqueue_embed "$d1" >/dev/null; enqueue_embed "$d2" >/dev/null
wait_for "SELECT count(*) = 2 FROM pgkb.documents WHERE id IN ($d1, $d2) AND status = 'ready'" 40 "rate-limited documents ready"
span=$(python3 -c "import json; t=sorted(json.loads(l)['t'] for l in open('$T_DIR/api.jsonl')); print(len(t), int((t[-1]-t[0])*1000))")
assert_eq "${span% *}" "8" "8 requests"
assert_ge "${span#* }" 5500 "the two processes shared one budget (${span#* } ms for 8 requests at 30/min with a burst of 5)"
# both processes map the same limiter file (the unit test shows two handles of one file share one budget)
rl_lines=$(grep -o "\[embed-[12] [0-9]*\] embed: provider openai.*rate limit $T_DIR/pgkb-embed-rl-[0-9a-f]*" "$T_DIR/sup-rl.log")
assert_eq "$(printf '%s\n' "$rl_lines" | sed 's/ .*rate limit / /' | sort -u | wc -l)" "2" "both embed processes use a rate limiter"
assert_eq "$(printf '%s\n' "$rl_lines" | sed 's/.*rate limit //' | sort -u | wc -l)" "1" "... the same shared file"
EMBED_PROCS=2 sup_stop

# --- the ollama provider: native POST /api/embed, batched, vectors stored with the configured model
write_config "$T_DIR/ollama.yaml" "workers:
  embed: {processes: 1, concurrency: 2}
  ingest: {processes: 0}
  crawl: {processes: 0}
  noop: {processes: 0}
embed:
  provider: ollama
  model: nomic-test
  base_url: http://127.0.0.1:$API
  batch_size: 4
  timeout: 2s"
sup_run "$T_DIR/ollama.yaml" sup-ollama
plan ok
d=$(make_doc https://s.test/ollama 6 "'ollama chunk ' || g")
enqueue_embed "$d" >/dev/null
wait_for "SELECT status = 'ready' FROM pgkb.documents WHERE id = $d" 20 "ollama: document ready"
assert_eq "$(reqs path | tr ' ' '\n' | sort -u)" "/api/embed" "ollama: POST /api/embed"
assert_eq "$(reqs inputs | tr ' ' '\n' | sort -n | tr '\n' ' ')" "3 4 " "ollama: 7 texts in batches of 4 and 3"
assert_eq "$(sql "SELECT count(*) FROM archon_crawled_pages WHERE url = 'https://s.test/ollama' AND embedding_model = 'nomic-test'
                  AND embedding_dimension = 384 AND cardinality(embedding_384) = 384")" "6" "ollama: vectors stored"
sup_stop
finish
