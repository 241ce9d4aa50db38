#!/usr/bin/env bash
# Conversation memory benchmark (schema/092_memory.sql).
# 1) MESSAGES messages of one user (SESSIONS sessions) inserted in one statement while no embed worker runs,
#    then one embed process (builtin provider) started: messages embedded per second, end to end (claim,
#    load, embed, fenced write; the trigger made one job per 250 messages).
# 2) pgkb_memory.context_for_prompt on that user, CALLS calls, each with another session and another query
#    (the text and builtin vector of one of the user's messages), token budget 2000, k 5: p50 and p95, timed
#    inside the server (clock_timestamp around each call; no round trip), once over the session and once
#    across all the user's sessions (p_across_sessions).
# usage: bench/memory.sh   env: MESSAGES (100000), SESSIONS (100), CALLS (250), EMBED_CONCURRENCY (4)
. "$(dirname "$0")/lib.sh"
MESSAGES=${MESSAGES:-100000}; SESSIONS=${SESSIONS:-100}; CALLS=${CALLS:-250}; EMBED_CONCURRENCY=${EMBED_CONCURRENCY:-4}
bench_build
bench_pg_start "${BENCH_PORT:-54338}"
export PGDATABASE=pgkb_bench
sql -d postgres -c "CREATE DATABASE pgkb_bench"
"$BIN/pgkb" migrate >/dev/null

# --- the user's history: words from a 5,000-word vocabulary, 8 to 40 words a message, one INSERT
sql -c "INSERT INTO pgkb_memory.sessions (id, user_id) SELECT 's' || g, 'bench-user' FROM generate_series(1, $SESSIONS) g;
        CREATE TABLE bench_words AS SELECT g AS i, substr(md5(g::text), 1, 3 + g % 7) AS w FROM generate_series(0, 4999) g;
        INSERT INTO pgkb_memory.messages (session_id, role, content, created_at)
        SELECT 's' || (g % $SESSIONS + 1), CASE WHEN g % 2 = 0 THEN 'user' ELSE 'assistant' END,
               (SELECT string_agg(w.w, ' ') FROM generate_series(1, 8 + g % 33) k
                  JOIN bench_words w ON w.i = ((g::bigint * 7919 + k * k * 104729) % 5000)),
               now() - interval '60 days' + g * interval '30 seconds'
          FROM generate_series(1, $MESSAGES) g"
jobs=$(sql -c "SELECT count(*) FROM pgkb.jobs WHERE kind = 'embed_messages'")

# --- 1) embedding
cat >"$B_DIR/pgkb.yaml" <<YAML
log: {level: warn}
workers:
  embed: {processes: 1, concurrency: $EMBED_CONCURRENCY}
  ingest: {processes: 0}
  crawl: {processes: 0}
  noop: {processes: 0}
YAML
"$BIN/pgkb-supervisor" -c "$B_DIR/pgkb.yaml" 2>"$B_DIR/sup.log" & sup=$!; B_PIDS+=("$sup")
t0=$(date +%s.%N)
until [ "$(sql -c "SELECT count(*) FROM pgkb.jobs WHERE kind = 'embed_messages' AND state <> 'dead'")" = 0 ]; do sleep 0.1; done
t1=$(date +%s.%N)
kill -TERM "$sup"; wait "$sup" || true
embedded=$(sql -c "SELECT count(*) FROM pgkb_memory.messages WHERE embedding IS NOT NULL")
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}')
echo "embedding (builtin, 1 process, concurrency $EMBED_CONCURRENCY): $embedded of $MESSAGES messages in $jobs jobs," \
     "$secs s: $(awk -v n="$embedded" -v s="$secs" 'BEGIN{printf "%.0f", n/s}') messages/s"

# --- 2) context_for_prompt latency
sql -c "VACUUM ANALYZE pgkb_memory.messages"
lat() { # ACROSS_SESSIONS: prints p50 p95 mean in ms
	sql -c "CREATE TEMP TABLE t (ms float8);
	        DO \$\$
	        DECLARE q record; t0 timestamptz; n int;
	        BEGIN
	          FOR q IN SELECT m.session_id, m.content, m.embedding FROM pgkb_memory.messages m
	                    WHERE m.id % ($MESSAGES / $CALLS) = 0 ORDER BY m.id LIMIT $CALLS LOOP
	            t0 := clock_timestamp();
	            SELECT count(*) INTO n FROM pgkb_memory.context_for_prompt(q.session_id, q.content, q.embedding, 2000, 5, $1);
	            INSERT INTO t VALUES (extract(epoch FROM clock_timestamp() - t0) * 1000);
	          END LOOP;
	        END \$\$;
	        SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1),
	               round(percentile_cont(0.95) WITHIN GROUP (ORDER BY ms)::numeric, 1),
	               round(avg(ms)::numeric, 1), count(*) FROM t" | tail -1
}
sql -c "SELECT count(*) FROM pgkb_memory.context_for_prompt('s1', 'warm up', NULL, 2000, 5, true)" >/dev/null
IFS='|' read -r p50 p95 mean n < <(lat false)
echo "context_for_prompt, one session ($((MESSAGES / SESSIONS)) messages), $n calls: p50 $p50 ms, p95 $p95 ms, mean $mean ms"
IFS='|' read -r p50 p95 mean n < <(lat true)
echo "context_for_prompt, across the user's sessions ($MESSAGES messages), $n calls: p50 $p50 ms, p95 $p95 ms, mean $mean ms"
