#!/usr/bin/env bash
# The ingest worker's file access against hostile trees: a directory swapped for a link to outside the roots
# while path jobs run (renameat2 RENAME_EXCHANGE in a loop) leaks no outside text; a FIFO fails its job at once
# with its type while the worker keeps serving and drains on SIGTERM in time; a directory deeper than the walk's
# bound is named in the job's outcome, not skipped silently; 20,000 files in one directory job become exactly one
# job and document each, enqueued in batches (one INSERT of all of them ran out of the server's lock table).
. "$(dirname "$0")/lib.sh"
# The server's lock table holds max_locks_per_transaction x (max_connections + background slots) entries: about
# 14,000 for the test server (max_connections=200), 7,800 for a default one, which 100,000 files in one INSERT
# (one dedupe lock per row) overflowed. A smaller table makes 20,000 files overflow it the same way.
PG_TEST_OPTS="-c max_locks_per_transaction=20" pg_start
migrate
ROOT=$T_DIR/root
OUT=$T_DIR/outside
mkdir -p "$ROOT" "$OUT"
write_config "$T_DIR/pgkb.yaml" "workers:
  ingest: {processes: 2, concurrency: 8}
  noop: {processes: 0}
  crawl: {processes: 0}
  embed: {processes: 0}
ingest:
  roots: [\"$ROOT\"]"
sup_start "$T_DIR/pgkb.yaml" sup
wait_for "SELECT count(*) = 2 FROM pg_stat_activity WHERE application_name = 'pgkb-ingest' AND query LIKE 'LISTEN%'" 20 "ingest workers up"
workers=$(worker_pids "$SUP_PID")
done_ingest() { wait_for "SELECT count(*) = 0 FROM pgkb.jobs WHERE kind = 'ingest' AND state <> 'dead'" "$1" "$2"; }
dead() { sql "SELECT count(*) FROM pgkb.jobs WHERE kind = 'ingest' AND state = 'dead' AND payload->>'path' LIKE '$1'"; }

# --- the race: ROOT/race/swap is a real directory or a link to OUT/swap, exchanged in a loop
N=300
mkdir -p "$ROOT/race/swap" "$OUT/swap"
for i in $(seq 1 $N); do
	printf '# Inside %d\n\nThis page is inside the root.\n' "$i" >"$ROOT/race/swap/f$i.md"
	printf '# Outside %d\n\nOUTSIDESECRET%d must never be ingested.\n' "$i" "$i" >"$OUT/swap/f$i.md"
done
ln -s "$OUT/swap" "$ROOT/race/alt"
python3 - "$ROOT/race/swap" "$ROOT/race/alt" "$T_DIR/swaps" "$T_DIR/stop-racer" <<'PY' &
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
a, b = os.fsencode(sys.argv[1]), os.fsencode(sys.argv[2])
n = 0
while n % 256 or not os.path.exists(sys.argv[4]):  # renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE)
    if libc.renameat2(-100, a, -100, b, 2) != 0:
        raise OSError(ctypes.get_errno(), 'renameat2')
    n += 1
    if n == 1000:
        open(sys.argv[3], 'w').close()  # racing: the jobs may start
open(sys.argv[3], 'w').write(str(n))
PY
RACER=$!
T_PIDS+=("$RACER")
for _ in $(seq 1 100); do [ -e "$T_DIR/swaps" ] && break; sleep 0.1; done
sql "INSERT INTO pgkb.jobs (kind, payload) SELECT 'ingest', jsonb_build_object('path', '$ROOT/race/swap/f' || g || '.md') FROM generate_series(1, $N) g"
done_ingest 120 "the racing path jobs ended"
touch "$T_DIR/stop-racer"; wait "$RACER"
assert_ge "$(cat "$T_DIR/swaps" 2>/dev/null || echo 0)" 1000 "the racer exchanged the directory and the link ($(cat "$T_DIR/swaps" 2>/dev/null) times)"
ok=$(sql "SELECT count(*) FROM pgkb.documents WHERE url LIKE 'file://$ROOT/race/%'")
refused=$(dead "$ROOT/race/%")
assert_eq "$((ok + refused))" "$N" "every racing job ended: $ok ingested, $refused refused"
log "refusals by reason: $(sql "SELECT string_agg(n || ' ' || r, ', ') FROM (SELECT CASE WHEN last_error LIKE '%symbolic link%' THEN 'met a link while opening beneath the root' ELSE 'resolved outside the roots' END r, count(*) n FROM pgkb.jobs WHERE state = 'dead' AND payload->>'path' LIKE '$ROOT/race/%' GROUP BY 1) x")"
assert_ge "$ok" 1 "some racing jobs read the inside file"
assert_ge "$refused" 1 "some racing jobs met the link and were refused"
pg_dump --data-only >"$T_DIR/dump.sql" 2>"$T_DIR/dump.log" || fail "pg_dump: $(cat "$T_DIR/dump.log")"
hex=$(printf 'OUTSIDESECRET' | od -An -tx1 | tr -d ' \n')
assert_ge "$(grep -c 'This page is inside the root' "$T_DIR/dump.sql")" 1 "the dump holds the ingested inside text"
assert_eq "$(sql "SELECT count(*) FROM archon_crawled_pages WHERE content LIKE '%OUTSIDESECRET%'")" "0" "no chunk holds text of the outside files"
assert_eq "$(grep -ci -e OUTSIDESECRET -e "$hex" "$T_DIR/dump.sql")" "0" "no text of the outside files anywhere in the database"
assert_match "$(sql "SELECT string_agg(DISTINCT regexp_replace(last_error, '.*: ', ''), ' | ') FROM pgkb.jobs WHERE state = 'dead' AND payload->>'path' LIKE '$ROOT/race/%'")" \
	"symbolic link|outside the ingest roots" "refused racing jobs say why"

# --- a FIFO: the job fails at once with its type; the worker keeps serving
mkdir -p "$ROOT/fifo"
mkfifo "$ROOT/fifo/x.md"
printf '# Next\n\nA page after the FIFO.\n' >"$ROOT/fifo/next.md"
t0=$(date +%s%N)
fj=$(sql "INSERT INTO pgkb.jobs (kind, payload) VALUES ('ingest', jsonb_build_object('path', '$ROOT/fifo/x.md')) RETURNING id")
wait_for "SELECT EXISTS (SELECT 1 FROM pgkb.jobs WHERE id = $fj AND state = 'dead')" 10 "the FIFO job ended"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
assert_match "$(sql "SELECT last_error FROM pgkb.jobs WHERE id = $fj")" "not a regular file \\(fifo\\)" "the FIFO job names the reason"
assert_ge 3000 "$ms" "... within 3 s (${ms} ms)"
"$PGKB" enqueue ingest "$ROOT/fifo/next.md" >/dev/null
wait_for "SELECT count(*) = 1 FROM pgkb.documents WHERE url = 'file://$ROOT/fifo/next.md' AND status = 'chunked'" 10 "a file after the FIFO" \
	&& pass "the worker keeps serving other jobs after the FIFO"
dj=$(sql "INSERT INTO pgkb.jobs (kind, payload) VALUES ('ingest', jsonb_build_object('path', '$ROOT/fifo')) RETURNING id")
wait_for "SELECT EXISTS (SELECT 1 FROM pgkb.job_history WHERE id = $dj AND state = 'succeeded')" 10 "the directory with a FIFO"
assert_match "$(sql "SELECT last_error FROM pgkb.job_history WHERE id = $dj")" "left out: 1 not a regular file .*x\\.md" "a directory job names the FIFO it left"

# --- deeper than the walk's bound: named in the job's outcome and the log
d="$ROOT/deep"
for i in $(seq 1 70); do d="$d/l$i"; [ "$i" = 3 ] && mkdir -p "$d" && echo "# Shallow" >"$d/shallow.md"; done
mkdir -p "$d"; printf '# Bottom\n\nseventy levels down\n' >"$d/bottom.md"
dj=$(sql "INSERT INTO pgkb.jobs (kind, payload) VALUES ('ingest', jsonb_build_object('path', '$ROOT/deep')) RETURNING id")
wait_for "SELECT EXISTS (SELECT 1 FROM pgkb.job_history WHERE id = $dj AND state = 'succeeded')" 10 "the deep directory job"
assert_match "$(sql "SELECT last_error FROM pgkb.job_history WHERE id = $dj")" "^1 files enqueued; left out: 1 directory deeper than 64 levels not walked \\(the walk's depth bound\\) \\(first: $ROOT/deep/l1/" "the depth bound is named in the job's outcome"
assert_match "$(grep "ingest job $dj:" "$T_DIR/sup.log")" "deeper than 64 levels" "... and in the log"
done_ingest 20 "the shallow file"

# --- 20,000 files in one directory job: one job and one document each, no error
M=20000
python3 - "$ROOT/many" "$M" <<'PY'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
os.makedirs(d)
for i in range(n):
    open(f"{d}/f{i:05d}.md", "w").close()
PY
t0=$(date +%s)
mj=$(sql "INSERT INTO pgkb.jobs (kind, payload) VALUES ('ingest', jsonb_build_object('path', '$ROOT/many')) RETURNING id")
done_ingest 60 "20,000 files ingested within a minute"
log "20,000 files: $(( $(date +%s) - t0 )) s"
assert_eq "$(sql "SELECT state || ' ' || coalesce(last_error, '') FROM pgkb.job_history WHERE id = $mj")" "succeeded " "the directory job succeeded, nothing left out"
assert_eq "$(sql "SELECT count(*) FROM pgkb.jobs WHERE kind = 'ingest' AND id > $mj")" "0" "no ingest job failed"
assert_eq "$(sql "SELECT count(*) FROM pgkb.job_history WHERE id > $mj AND kind = 'ingest'")" "$M" "one job per file"
assert_eq "$(sql "SELECT count(*), count(DISTINCT url) FROM pgkb.documents WHERE url LIKE 'file://$ROOT/many/%'")" "$M|$M" "one document per file"
assert_eq "$(sql "SELECT count(*) FROM pgkb.documents WHERE url LIKE 'file://$ROOT/many/%' AND (status, error) IS DISTINCT FROM ('skipped', 'empty document: no text to ingest')")" "0" "every document skipped as empty, no error"
assert_match "$(grep "ingest job $mj:" "$T_DIR/sup.log")" "enqueued 20000 of 20000 files" "fan-out progress is logged"

# --- SIGTERM drains in time, with a FIFO job among the last ones
sql "INSERT INTO pgkb.jobs (kind, payload) VALUES ('ingest', jsonb_build_object('path', '$ROOT/fifo/x.md'))"
assert_eq "$(worker_pids "$SUP_PID")" "$workers" "the ingest workers survived everything"
t0=$(date +%s)
kill -TERM "$SUP_PID"
for _ in $(seq 1 150); do kill -0 "$SUP_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$SUP_PID" 2>/dev/null; then fail "SIGTERM: the supervisor still runs after 15 s"; else
	wait "$SUP_PID"; rc=$?
	assert_eq "$rc" "0" "SIGTERM drains, exit 0 in $(( $(date +%s) - t0 )) s"
fi
finish
