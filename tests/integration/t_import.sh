#!/usr/bin/env bash
# pgkb import sqlite: a generated store of 1,000 conversations, 100,000 messages and 1,000 documents, the import
# killed with SIGKILL halfway and run again: exact counts, no duplicates, a third run copies nothing; the
# documents go through ingest and embed; a store with bad rows (bad UTF-8, a NUL, unparsable timestamps and
# JSON, an unknown role, a message of a missing conversation) is imported but for those, each reported with its
# rowid; a store of another layout through a YAML mapping.
. "$(dirname "$0")/lib.sh"
pg_start
migrate
GEN="python3 $(dirname "$0")/make_sqlite_store.py"

$GEN "$T_DIR/store.db" 1000 100000 1000
id=$(realpath "$T_DIR/store.db")
progress() { sql "SELECT coalesce(sum(imported), 0) FROM pgkb_memory.imports WHERE source_table = 'messages'"; }

# --- killed halfway
"$PGKB" import sqlite "$T_DIR/store.db" --batch 500 >"$T_DIR/import1.log" 2>&1 &
pid=$!
T_PIDS+=("$pid")
wait_for "SELECT coalesce(sum(imported), 0) >= 30000 FROM pgkb_memory.imports WHERE source_table = 'messages'" 120 \
	"the first run got a third of the way"
kill -KILL "$pid"
wait "$pid" 2>/dev/null
mid=$(progress)
log "killed after $mid messages"
if [ "$mid" -lt 100000 ]; then pass "the import was killed halfway ($mid of 100,000 messages)"; else fail "the import finished before the kill"; fi
assert_eq "$(sql "SELECT count(*) FROM pgkb_memory.messages")" "$mid" \
	"what was committed is exactly what the high-water mark counts"
assert_eq "$(sql "SELECT high_water FROM pgkb_memory.imports WHERE source_table = 'messages'")" \
	"$(sql "SELECT max(split_part(content, ' ', 2)::int) FROM pgkb_memory.messages")" \
	"... and the high-water mark is the last message copied"

# --- resumed
"$PGKB" import sqlite "$T_DIR/store.db" --batch 500 >"$T_DIR/import2.log" 2>&1
assert_eq "$?" "0" "the rerun completes and verifies the counts (exit 0)"
report=$(cat "$T_DIR/import2.log")
assert_match "$report" "conversations +1000 +1000 +0 +ok" "report: conversations 1000 = 1000 + 0"
assert_match "$report" "messages +100000 +100000 +0 +ok" "report: messages 100000 = 100000 + 0"
assert_match "$report" "documents +1000 +1000 +0 +ok" "report: documents 1000 = 1000 + 0"
assert_match "$report" "messages: $((100000 - mid)) rows imported" "the rerun copied only what was left"
assert_eq "$(sql "SELECT count(*) FROM pgkb_memory.sessions")" "1000" "1,000 sessions"
assert_eq "$(sql "SELECT count(*) || ' ' || count(DISTINCT content) FROM pgkb_memory.messages")" "100000 100000" \
	"100,000 messages, no duplicates"
assert_eq "$(sql "SELECT count(*) || ' ' || count(DISTINCT payload->>'url') FROM pgkb.jobs WHERE kind = 'ingest'")" \
	"1000 1000" "1,000 ingest jobs, one per document"
assert_eq "$(sql "SELECT session_id || ' ' || role || ' ' || created_at || ' ' || metadata::text
                  FROM pgkb_memory.messages WHERE content LIKE 'message 12346 %'")" \
	"347 assistant 2024-01-01 10:25:46+00 {\"i\": 12346}" "a message keeps its conversation, role, time and metadata"
assert_eq "$(sql "SELECT created_at FROM pgkb_memory.messages WHERE content LIKE 'message 12344 %'")" \
	"2024-01-01 13:25:44+00" "... a Unix-seconds timestamp too"
assert_eq "$(sql "SELECT user_id || ' ' || title || ' ' || (metadata->>'channel') FROM pgkb_memory.sessions WHERE id = '7'")" \
	"user-7 conversation 7 web" "a session keeps its user, title and metadata"

"$PGKB" import sqlite "$T_DIR/store.db" >"$T_DIR/import3.log" 2>&1
assert_eq "$?" "0" "a third run succeeds"
assert_match "$(cat "$T_DIR/import3.log")" "messages: 0 rows imported" "... and copies nothing"
assert_eq "$(sql "SELECT count(*) FROM pgkb_memory.messages")" "100000" "... still 100,000 messages"

# --- the documents go through ingest and embed like any other
write_config "$T_DIR/pgkb.yaml" "workers:
  embed: {processes: 1, concurrency: 8}
  ingest: {processes: 1}
  crawl: {processes: 0}
  noop: {processes: 0}"
sup_start "$T_DIR/pgkb.yaml" sup
wait_for "SELECT count(*) = 1000 FROM pgkb.documents WHERE source_id = 'sqlite-store' AND status = 'ready'" 300 \
	"the 1,000 imported documents are ingested and embedded"
assert_eq "$(sql "SELECT count(*) FROM archon_crawled_pages WHERE source_id = 'sqlite-store' AND embedding_dimension IS NULL")" \
	"0" "... every chunk has a vector"
kill -TERM "$SUP_PID"
wait "$SUP_PID" 2>/dev/null

# --- bad rows: reported with their rowids, the rest imported (another prefix: its ids repeat the first store's)
bad=$($GEN "$T_DIR/bad.db" 20 200 5 --bad)
"$PGKB" import sqlite "$T_DIR/bad.db" --prefix bad: >"$T_DIR/import_bad.log" 2>&1
assert_eq "$?" "3" "an import with rejected rows exits 3 (counts verified)"
report=$(cat "$T_DIR/import_bad.log")
assert_match "$report" "messages +208 +200 +8 +ok" "report: messages 208 = 200 imported + 8 rejected"
assert_match "$report" "conversations +21 +20 +1 +ok" "report: conversations 21 = 20 + 1"
assert_match "$report" "documents +6 +5 +1 +ok" "report: documents 6 = 5 + 1"
while read -r table rowid; do
	assert_match "$report" "  $table	$rowid	" "the report names $table row $rowid"
done <<<"$bad"
assert_match "$report" "messages	201	content: invalid UTF-8 at byte 3" "bad UTF-8, with where"
assert_match "$report" "messages	202	content: NUL byte at offset 3" "a NUL, with where"
assert_match "$report" "messages	203	created_at: unparsable timestamp \"last tuesday\"" "an unparsable timestamp"
assert_match "$report" "messages	208	created_at: unparsable timestamp \"2024-02-30 10:00\"" "an impossible date"
assert_match "$report" "messages	204	metadata: JSON but not an object" "JSON that is no object"
assert_match "$report" "messages	205	metadata: not JSON" "unparsable JSON"
assert_match "$report" "messages	206	role: \"wizard\"" "an unknown role"
assert_match "$report" "messages	207	session bad:999999 not found" "a message of a missing conversation"
assert_match "$report" "conversations	21	metadata: not JSON" "a conversation with bad metadata"
assert_eq "$(sql "SELECT count(*) FROM pgkb_memory.messages WHERE session_id LIKE 'bad:%'")" "200" "the good rows are imported"
assert_eq "$(sql "SELECT count(*) FROM pgkb_memory.import_rejects WHERE file_identity = '$(realpath "$T_DIR/bad.db")'")" "10" \
	"rejects are kept in pgkb_memory.import_rejects"

# --- another layout, described in YAML
python3 - "$T_DIR/other.db" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.executescript("""
CREATE TABLE chats (chat_key TEXT PRIMARY KEY, owner TEXT, started REAL);
CREATE TABLE lines (n INTEGER PRIMARY KEY, chat TEXT, who TEXT, body TEXT, tokens INTEGER);
INSERT INTO chats VALUES ('c-a', 'erin', 1700000000.5), ('c-b', 'erin', 1700000100);
INSERT INTO lines VALUES (1, 'c-a', 'USER', 'hello there', 3), (2, 'c-a', 'assistant', 'hi', 1),
                         (3, 'c-b', 'system', 'be brief', 2);
""")
db.commit()
EOF
cat >"$T_DIR/other.yaml" <<'EOF'
sessions: {table: chats, id: chat_key, user_id: owner, created_at: started}
messages:
  table: lines
  id: n
  session_id: chat
  role: who
  content: body
  token_count: tokens
EOF
"$PGKB" import sqlite "$T_DIR/other.db" --map "$T_DIR/other.yaml" >"$T_DIR/import_other.log" 2>&1
assert_eq "$?" "0" "a YAML mapping imports another layout"
assert_eq "$(sql "SELECT string_agg(session_id || '/' || user_id || '/' || role || '/' || token_count, ' ' ORDER BY id)
                  FROM pgkb_memory.messages WHERE session_id LIKE 'c-%'")" "c-a/erin/user/3 c-a/erin/assistant/1 c-b/erin/system/2" \
	"... with its columns, roles folded to lower case and the given token counts"
assert_eq "$(sql "SELECT created_at FROM pgkb_memory.sessions WHERE id = 'c-a'")" "2023-11-14 22:13:20.5+00" \
	"... and a REAL Unix time"
echo 'sessions: {table: "chats; DROP TABLE x", id: id}' >"$T_DIR/evil.yaml"
assert_match "$("$PGKB" import sqlite "$T_DIR/other.db" --map "$T_DIR/evil.yaml" 2>&1)" "not a plain table or column name" \
	"a mapping's names must be plain identifiers"
echo "not sqlite" >"$T_DIR/notes.txt"
assert_match "$("$PGKB" import sqlite "$T_DIR/notes.txt" 2>&1)" "notes.txt: file is not a database" \
	"a file that is no SQLite database is refused before anything is written"
finish
