#!/usr/bin/env bash
# PDF benchmark: pages/s of lib/doc's contained converter (a forked child per document, with its CPU, memory
# and time limits on) on a corpus of PDFs, beside `pdftotext` (poppler-utils) on the same files in the same
# run (target: 0.8 of pdftotext's rate or better); then the whole ingest of the same corpus (extraction,
# chunking, writing) through the supervisor's ingest worker into a scratch cluster (target: within 3x of
# extraction alone). Each tool converts the whole corpus DOCS_ROUNDS times, alternating, and the median round
# counts; each ingest round writes into a fresh database.
# Usage: bench/docs.sh [PDF...]   (default: the manuals of Debian's r-doc-pdf in /usr/share/R/doc/manual)
#   env: PGKB_BIN_DIR (a built tree; default: builds build-release), DOCS_ROUNDS (3), DOCS_INGEST (1; 0 skips
#   the ingest), DOCS_CONCURRENCY (1: documents in flight in the one ingest process, as the extraction tool
#   converts one at a time; more runs converter children side by side), BENCH_PORT (54332)
. "$(dirname "$0")/lib.sh"
if [ $# -gt 0 ]; then FILES=("$@"); else
	FILES=(); for f in /usr/share/R/doc/manual/*.pdf; do [ -f "$f" ] && FILES+=("$f"); done
	# refman.pdf and fullrefman.pdf are the same file in r-doc-pdf: count it once
	FILES=($(printf '%s\n' "${FILES[@]}" | grep -v '/fullrefman.pdf$'))
fi
[ ${#FILES[@]} -gt 0 ] || { echo "no PDFs (apt-get install r-doc-pdf, or name some)" >&2; exit 1; }
command -v pdftotext >/dev/null || { echo "no pdftotext (apt-get install poppler-utils)" >&2; exit 1; }
command -v pdfinfo >/dev/null || { echo "no pdfinfo (apt-get install poppler-utils)" >&2; exit 1; }

bench_build
EXTRACT=$BIN/pgkb-doc-extract
[ -x "$EXTRACT" ] || { echo "no $EXTRACT" >&2; exit 1; }

pages=0
for f in "${FILES[@]}"; do pages=$((pages + $(pdfinfo "$f" | awk '/^Pages:/ {print $2}'))); done
echo "corpus: ${#FILES[@]} PDFs, $pages pages; machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

now() { date +%s.%N; }
ROUNDS=${DOCS_ROUNDS:-3}
pgkb_t=(); ptt_t=()
for r in $(seq 1 "$ROUNDS"); do
	t0=$(now)
	"$EXTRACT" --quiet "${FILES[@]}" >"$B_DIR/pgkb.out" || { cat "$B_DIR/pgkb.out"; exit 1; }
	t1=$(now)
	for f in "${FILES[@]}"; do pdftotext "$f" "$B_DIR/out.txt"; done
	t2=$(now)
	pgkb_t+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')"); ptt_t+=("$(awk -v a="$t1" -v b="$t2" 'BEGIN {print b - a}')")
done
pg=$(printf '%s\n' "${pgkb_t[@]}" | median); pt=$(printf '%s\n' "${ptt_t[@]}" | median)
pgkb_rate=$(awk -v p="$pages" -v t="$pg" 'BEGIN {print p / t}'); ptt_rate=$(awk -v p="$pages" -v t="$pt" 'BEGIN {print p / t}')
printf 'pgkb (contained): %8.1f pages/s  (median %.2f s of %s)\n' "$pgkb_rate" "$pg" "${pgkb_t[*]}"
printf 'pdftotext:        %8.1f pages/s  (median %.2f s of %s)\n' "$ptt_rate" "$pt" "${ptt_t[*]}"
printf 'ratio: %.2f of pdftotext (target 0.80)\n' "$(awk -v a="$pgkb_rate" -v b="$ptt_rate" 'BEGIN {print a / b}')"
sed 's/^/  /' "$B_DIR/pgkb.out"
[ "${DOCS_INGEST:-1}" = 0 ] && exit 0

# --- the whole ingest: the same files from disk through pgkb-supervisor's ingest worker, no embedding (the rows
# end chunked), into a scratch cluster with default durability; a fresh database per round
CORPUS=$B_DIR/corpus
mkdir -p "$CORPUS"
i=0; for f in "${FILES[@]}"; do i=$((i + 1)); cp "$f" "$CORPUS/$i-$(basename "$f")"; done
chmod -R a+rX "$CORPUS"
bench_pg_start "${BENCH_PORT:-54332}"
CONC=${DOCS_CONCURRENCY:-1}
ingest_t=()
for r in $(seq 1 "$ROUNDS"); do
	export PGDATABASE=pgkb_docs_$r
	sql -d postgres -c "CREATE DATABASE $PGDATABASE"
	"$BIN/pgkb" migrate >/dev/null
	cat >"$B_DIR/pgkb.yaml" <<YAML
log: {level: warn}
ingest: {roots: ["$CORPUS"]}
workers:
  ingest: {processes: 1, concurrency: $CONC}
  noop: {processes: 0}
  crawl: {processes: 0}
  embed: {processes: 0}
YAML
	"$BIN/pgkb-supervisor" -c "$B_DIR/pgkb.yaml" 2>"$B_DIR/sup.log" & sup=$!; B_PIDS+=("$sup")
	until [ "$(sql -c "SELECT count(*) FROM pg_stat_activity WHERE datname = '$PGDATABASE' AND query LIKE 'LISTEN%'")" -ge 1 ]; do sleep 0.05; done
	t0=$(now)
	"$BIN/pgkb" enqueue ingest "$CORPUS" >/dev/null
	until [ "$(sql -c "SELECT count(*) FROM pgkb.documents WHERE status NOT IN ('queued', 'fetched')")" -ge "${#FILES[@]}" ] &&
	      [ "$(sql -c "SELECT count(*) FROM pgkb.jobs WHERE kind = 'ingest' AND state <> 'dead'")" = 0 ]; do sleep 0.05; done
	t1=$(now)
	kill -TERM "$sup"; wait "$sup" || true
	ingest_t+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')")
done
it=$(printf '%s\n' "${ingest_t[@]}" | median)
ingest_rate=$(awk -v p="$pages" -v t="$it" 'BEGIN {print p / t}')
read -r chunks codes < <(sql -F ' ' -c "SELECT (SELECT count(*) FROM archon_crawled_pages), (SELECT count(*) FROM archon_code_examples)")
printf 'pgkb whole ingest: %7.1f pages/s  (median %.2f s of %s; %s chunks, %s code examples; concurrency %s)\n' \
	"$ingest_rate" "$it" "${ingest_t[*]}" "$chunks" "$codes" "$CONC"
sql -c "SELECT '  document status: ' || string_agg(status || ' ' || n, ', ') FROM (SELECT status, count(*) n FROM pgkb.documents GROUP BY 1 ORDER BY 1) x"
printf 'whole ingest / extraction alone: %.2fx the time (target: within 3x)\n' "$(awk -v a="$it" -v b="$pg" 'BEGIN {print a / b}')"
