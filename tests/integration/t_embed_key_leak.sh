#!/usr/bin/env bash
# A provider that echoes the API key in a 401 (embed_server.py's echo401: the key after 450 characters, so that
# the 500-character cut of the message falls inside it), with a key that looks like no known key format: no
# 8-character piece of the key may reach the job's last_error, the worker log or `pgkb search`'s stderr.
. "$(dirname "$0")/lib.sh"
pg_start
migrate
export TEST_EMBED_KEY='Zq7+xP/4Lm9=Rt2wKv8Hs5nJd3Fg6Yb1Cu0QeW'
SERVER="$PGKB_SRC_DIR/tests/integration/embed_server.py"
PY=$(python3 -c "import sys; print(sys.executable)")
"$PY" "$SERVER" --port-file "$T_DIR/api.port" --log "$T_DIR/api.jsonl" --dim 384 --plan echo401 >"$T_DIR/api-server.log" 2>&1 &
T_PIDS+=($!)
for _ in $(seq 1 100); do [ -s "$T_DIR/api.port" ] && break; sleep 0.1; done
API=$(cat "$T_DIR/api.port")

write_config "$T_DIR/pgkb.yaml" "workers:
  embed: {processes: 1, concurrency: 2}
  ingest: {processes: 0}
  crawl: {processes: 0}
  noop: {processes: 0}
embed:
  provider: openai
  model: test-model
  base_url: http://127.0.0.1:$API
  api_key_env: TEST_EMBED_KEY
  timeout: 2s"
# every 8-character piece of the key, as fixed strings for grep -F
python3 -c "import os; k = os.environ['TEST_EMBED_KEY']; print('\n'.join(k[i:i + 8] for i in range(len(k) - 7)))" >"$T_DIR/pieces"
leaks() { printf '%s' "$1" | grep -c -F -f "$T_DIR/pieces"; } # TEXT: lines holding a piece of the key

sup_start "$T_DIR/pgkb.yaml" sup
wait_for "SELECT count(*) = 1 FROM pg_stat_activity WHERE application_name = 'pgkb-embed' AND query LIKE 'LISTEN%'" 20 "embed worker connected"
sql "INSERT INTO archon_sources (source_id, source_url) VALUES ('s', 'https://s.test/');
     INSERT INTO archon_crawled_pages (url, chunk_number, content, source_id) VALUES ('https://s.test/a', 1, 'some text', 's')"
d=$(sql "INSERT INTO pgkb.documents (source_id, url, status) VALUES ('s', 'https://s.test/a', 'chunked') RETURNING id")
j=$(sql "INSERT INTO pgkb.jobs (kind, payload) VALUES ('embed', jsonb_build_object('document_id', $d)) RETURNING id")
wait_for "SELECT state = 'dead' FROM pgkb.jobs WHERE id = $j" 20 "401: the embed job is dead"
e=$(sql "SELECT last_error FROM pgkb.jobs WHERE id = $j")
assert_match "$e" "HTTP 401 \(invalid_api_key\): Authentication failed" "401: the provider's message is in last_error"
assert_eq "$(leaks "$e")" "0" "401: no piece of the key in last_error"
kill -TERM "$SUP_PID"; wait "$SUP_PID"
assert_match "$(cat "$T_DIR/sup.log")" "invalid_api_key" "401: the failure is logged"
assert_eq "$(leaks "$(cat "$T_DIR/sup.log")")" "0" "401: no piece of the key in the worker log"

out=$("$PGKB" -c "$T_DIR/pgkb.yaml" search "anything" 2>"$T_DIR/search.err"); rc=$?
assert_eq "$rc" "1" "pgkb search fails"
assert_match "$(cat "$T_DIR/search.err")" "HTTP 401 \(invalid_api_key\)" "pgkb search prints the provider's message"
assert_eq "$(leaks "$(cat "$T_DIR/search.err")$out")" "0" "no piece of the key in pgkb search's output"
finish
