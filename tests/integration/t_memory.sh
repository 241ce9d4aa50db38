#!/usr/bin/env bash
# Conversation memory (schema/092_memory.sql, workers/embed/embed_messages.c): the recent window of a session
# within a tight token budget (long and short messages, system messages kept); 10,000 messages inserted in one
# statement while no embed worker runs wait as 40 jobs, then all end embedded by the builtin embedder; a changed
# content is embedded again; recall finds an early message by meaning (shared words) and leaves out the recent
# window; context_for_prompt returns both; expiry by the maintenance timer (memory.retention and expires_at)
# and delete_session.
. "$(dirname "$0")/lib.sh"
pg_start
migrate

# --- the recent window: system (30 tokens), then u1 5, a2 400, u3 10, a4 20, u5 8 (oldest to newest)
sql "INSERT INTO pgkb_memory.sessions (id, user_id) VALUES ('win', 'bob');
     INSERT INTO pgkb_memory.messages (session_id, role, content, token_count, created_at) VALUES
       ('win', 'system', 'You are terse.', 30, now() - interval '10 min'),
       ('win', 'user', 'u1', 5, now() - interval '9 min'),
       ('win', 'assistant', 'a2 ' || repeat('long answer ', 130), 400, now() - interval '8 min'),
       ('win', 'user', 'u3', 10, now() - interval '7 min'),
       ('win', 'assistant', 'a4', 20, now() - interval '6 min'),
       ('win', 'user', 'u5', 8, now() - interval '5 min')"
win() { sql "SELECT string_agg(left(content, 2) || ':' || recency, ' ' ORDER BY created_at)
             FROM pgkb_memory.recent_context('win', $1)"; }
assert_eq "$(win 70)" "Yo:0 u3:3 a4:2 u5:1" "budget 70: system (30) + u5, a4, u3 (38); the 400-token message does not fit"
assert_eq "$(win 67)" "Yo:0 a4:2 u5:1" "budget 67: u3 no longer fits (30+8+20+10 = 68)"
assert_eq "$(win 450)" "Yo:0 u3:3 a4:2 u5:1" "budget 450: a2 (400) would overflow; the window stops there, u1 does not skip ahead"
assert_eq "$(win 1000)" "Yo:0 u1:5 a2:4 u3:3 a4:2 u5:1" "a large budget takes the whole session"
assert_eq "$(win 10)" "Yo:0" "system messages are kept even over the budget, and then nothing else"
assert_eq "$(sql "SELECT sum(token_count) FROM pgkb_memory.recent_context('win', 70)")" "68" "the window is within the budget"
assert_eq "$(sql "SELECT token_count FROM pgkb_memory.messages WHERE session_id = 'win' AND content = 'u1'")" "5" \
	"an application's token count is kept"
sql "INSERT INTO pgkb_memory.messages (session_id, role, content) VALUES ('win', 'user', repeat('x', 41))"
assert_eq "$(sql "SELECT token_count || ' ' || user_id FROM pgkb_memory.messages WHERE content = repeat('x', 41)")" "11 bob" \
	"a missing token count is estimated (4 bytes a token) and user_id comes from the session"
assert_match "$(sql "INSERT INTO pgkb_memory.messages (session_id, role, content) VALUES ('win', 'robot', 'x')" 2>&1)" \
	"messages_role" "an unknown role is refused"

# --- 10,000 messages in one statement while no embed worker runs: 40 jobs wait in the queue
sql "INSERT INTO pgkb_memory.sessions (id, user_id)
     SELECT 'bulk-' || g, 'carol' FROM generate_series(1, 100) g"
jobs0=$(sql "SELECT count(*) FROM pgkb.jobs WHERE kind = 'embed_messages'")
sql "INSERT INTO pgkb_memory.messages (session_id, role, content, created_at)
     SELECT 'bulk-' || (g % 100 + 1), CASE WHEN g % 2 = 0 THEN 'user' ELSE 'assistant' END,
            'bulk message ' || g || ' about replication slot ' || (g % 37) || ' and checkpoint ' || (g % 11),
            now() - interval '2 days' + g * interval '1 second'
       FROM generate_series(1, 10000) g"
assert_eq "$(( $(sql "SELECT count(*) FROM pgkb.jobs WHERE kind = 'embed_messages'") - jobs0 ))" "40" \
	"one INSERT of 10,000 messages enqueues 40 jobs (250 each), not 10,000"
assert_eq "$(sql "SELECT max(jsonb_array_length(payload->'message_ids')) FROM pgkb.jobs WHERE kind = 'embed_messages'")" \
	"250" "... of at most 250 message ids"

# the early message recall must find, in a long session of user dave, and a second session of dave
sql "INSERT INTO pgkb_memory.sessions (id, user_id) VALUES ('long', 'dave'), ('other', 'dave'), ('probe', 'zed');
     INSERT INTO pgkb_memory.messages (session_id, role, content, created_at) VALUES
       ('long', 'user', 'Our staging cluster deploy key rotates every Tuesday at noon', now() - interval '3 hours');
     INSERT INTO pgkb_memory.messages (session_id, role, content, created_at)
     SELECT 'long', CASE WHEN g % 2 = 0 THEN 'user' ELSE 'assistant' END,
            (ARRAY['lunch options near the office', 'the quarterly budget review', 'printer on floor three jams',
                   'holiday schedule for december', 'new laptops arrive friday'])[g % 5 + 1] || ' ' || g,
            now() - interval '61 minutes' + g * interval '1 minute'
       FROM generate_series(1, 60) g;
     INSERT INTO pgkb_memory.messages (session_id, role, content, created_at) VALUES
       ('other', 'user', 'the office coffee machine is broken again', now() - interval '10 minutes');
     INSERT INTO pgkb_memory.messages (session_id, role, content) VALUES
       ('probe', 'user', 'when does the deploy key of the staging cluster rotate')"

LEASE=5s write_config "$T_DIR/pgkb.yaml" "workers:
  embed: {processes: 1, concurrency: 4}
  ingest: {processes: 0}
  crawl: {processes: 0}
  noop: {processes: 0}
memory:
  retention: 1h"
sup_start "$T_DIR/pgkb.yaml" sup
t0=$(date +%s)
wait_for "SELECT count(*) = 0 FROM pgkb_memory.messages WHERE embedding IS NULL" 300 "every message embedded"
log "embedded $(sql "SELECT count(*) FROM pgkb_memory.messages") messages in $(( $(date +%s) - t0 )) s"
assert_eq "$(sql "SELECT count(*) FROM pgkb_memory.messages WHERE embedding_dimension = 384
                  AND embedding_model = 'pgkb-builtin-v1' AND cardinality(embedding) = 384")" \
	"$(sql "SELECT count(*) FROM pgkb_memory.messages")" "each message has a 384-dimensional builtin vector"
assert_eq "$(sql "SELECT count(*) FROM pgkb_memory.messages WHERE session_id LIKE 'bulk-%' AND embedding IS NOT NULL")" \
	"10000" "the 10,000 bulk messages are embedded"
wait_for "SELECT count(*) = 0 FROM pgkb.jobs WHERE kind = 'embed_messages'" 30 "the embed_messages jobs are done"
assert_eq "$(sql "SELECT count(*) FROM pgkb.job_history WHERE kind = 'embed_messages' AND state = 'succeeded'
                  AND attempts = 1")" "$(sql "SELECT count(*) FROM pgkb.job_history WHERE kind = 'embed_messages'")" \
	"every job succeeded at its first attempt"

# --- a changed content clears the vector and is embedded again; an unchanged UPDATE enqueues nothing
old=$(sql "SELECT md5(embedding::text) FROM pgkb_memory.messages WHERE content = 'u1'")
last=$(sql "SELECT greatest((SELECT max(id) FROM pgkb.jobs), (SELECT max(id) FROM pgkb.job_history))")
new_jobs() { sql "SELECT count(*) FROM (SELECT id, kind FROM pgkb.jobs UNION ALL SELECT id, kind FROM pgkb.job_history) j
                  WHERE j.kind = 'embed_messages' AND j.id > $last"; }
sql "UPDATE pgkb_memory.messages SET metadata = '{\"seen\": true}' WHERE session_id = 'win'"
sql "UPDATE pgkb_memory.messages SET content = 'u1 now about vacuum freezing' WHERE content = 'u1'"
assert_eq "$(new_jobs)" "1" \
	"a content change enqueues one job (the metadata change none)"
wait_for "SELECT embedding IS NOT NULL FROM pgkb_memory.messages WHERE content = 'u1 now about vacuum freezing'" 30 \
	"the changed message embedded again"
assert_eq "$(sql "SELECT md5(embedding::text) <> '$old' FROM pgkb_memory.messages WHERE content LIKE 'u1 now%'")" "t" \
	"... with a new vector"

# --- recall: the query's vector is the probe message's (embedded by the worker like any other)
q="(SELECT embedding FROM pgkb_memory.messages WHERE session_id = 'probe')"
top=$(sql "SELECT content FROM pgkb_memory.recall('long', NULL, $q, 1, 200)")
assert_eq "$top" "Our staging cluster deploy key rotates every Tuesday at noon" \
	"vector recall finds the early message among 60 unrelated later ones"
assert_eq "$(sql "SELECT match_type FROM pgkb_memory.recall('long', 'deploy key rotation', $q, 3, 200) LIMIT 1")" \
	"hybrid" "hybrid recall ranks it first, found by both rankings"
assert_eq "$(sql "SELECT count(*) FROM pgkb_memory.recall('long', 'deploy key', $q, 100, 200) r
                  JOIN pgkb_memory.recent_context('long', 200) w USING (id)")" "0" "recall leaves out the recent window"
assert_ge "$(sql "SELECT count(*) FROM pgkb_memory.recent_context('long', 200)")" 10 "... which holds the newest messages"
assert_eq "$(sql "SELECT count(*) FROM pgkb_memory.recall('long', 'deploy key', $q, 5, 100000)")" "0" \
	"a window holding the whole session leaves nothing to recall"
assert_eq "$(sql "SELECT count(*) FILTER (WHERE session_id = 'other') FROM pgkb_memory.recall('long', 'office coffee', $q, 5, 200, true)")" \
	"1" "across sessions: the user's other session is searched"
assert_eq "$(sql "SELECT count(*) FILTER (WHERE session_id = 'other') FROM pgkb_memory.recall('long', 'office coffee', $q, 5, 200)")" \
	"0" "... and not without p_across_sessions"
ctx=$(sql "SELECT part || ':' || left(content, 12) FROM pgkb_memory.context_for_prompt('long', 'deploy key', $q, 60, 2)")
assert_match "$ctx" "^recent:" "context_for_prompt: the recent window first"
assert_match "$(printf '%s\n' "$ctx" | grep '^recall:' | head -1)" "recall:Our staging" "... then the recalled early message"
assert_eq "$(printf '%s\n' "$ctx" | grep -c '^recall:')" "2" "... k recalled messages"

# --- a bad payload fails its job at once, the worker lives on
jb=$(sql "INSERT INTO pgkb.jobs (kind, payload) VALUES ('embed_messages', '{\"message_ids\": [1, -2]}') RETURNING id")
wait_for "SELECT state = 'dead' FROM pgkb.jobs WHERE id = $jb" 20 "a bad embed_messages payload is dead at once"
assert_match "$(sql "SELECT last_error FROM pgkb.jobs WHERE id = $jb")" 'message_ids\[1\] is not a positive integer' \
	"... with a readable error"

# --- the worker-side functions run as the owner and are not for everyone
sql "CREATE ROLE someone"
assert_match "$(sql "SET ROLE someone; SELECT pgkb.memory_expire('1 millisecond', 10)" 2>&1)" "permission denied" \
	"PUBLIC may not call pgkb.memory_expire"
assert_match "$(sql "SET ROLE someone; SELECT pgkb.memory_embed_store('{1}', '{x}', '{1}', 'm', 1)" 2>&1)" \
	"permission denied" "... nor pgkb.memory_embed_store"
sql "CREATE ROLE worker_t LOGIN; SELECT pgkb.grant_worker_role('worker_t')"
assert_eq "$(psql -qAtX -U worker_t -c "SELECT pgkb.memory_expire('36500 days', 10), count(*) FROM pgkb.memory_embed_load('{}')" 2>&1)" \
	"0|0" "the worker role (pgkb.grant_worker_role) needs nothing on pgkb_memory to embed and expire"

# --- deletion and expiry (memory.retention 1h; maintenance runs once a minute)
assert_eq "$(sql "SELECT pgkb_memory.delete_session('other')")" "1" "delete_session returns the messages deleted"
assert_eq "$(sql "SELECT count(*) FROM pgkb_memory.sessions WHERE id = 'other'")" "0" "... and the session is gone"
assert_eq "$(sql "SELECT pgkb_memory.delete_session('nope') IS NULL")" "t" "an unknown session: NULL"
sql "UPDATE pgkb_memory.sessions SET expires_at = now() - interval '1 second' WHERE id = 'probe';
     UPDATE pgkb_memory.sessions SET last_message_at = now() - interval '2 hours' WHERE id LIKE 'bulk-%';
     UPDATE pgkb_memory.sessions SET expires_at = now() + interval '1 day', last_message_at = now() - interval '1 day'
      WHERE id = 'win'"
wait_for "SELECT count(*) = 0 FROM pgkb_memory.sessions WHERE id LIKE 'bulk-%' OR id = 'probe'" 200 \
	"expired sessions deleted by the maintenance timer"
assert_eq "$(sql "SELECT count(*) FROM pgkb_memory.messages WHERE session_id LIKE 'bulk-%' OR session_id = 'probe'")" "0" \
	"... with their messages (10,000 messages, in batches)"
assert_eq "$(sql "SELECT string_agg(id, ',' ORDER BY id) FROM pgkb_memory.sessions")" "long,win" \
	"active sessions stay, and one idle past the retention whose expires_at is still ahead"
finish
