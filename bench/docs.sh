#!/usr/bin/env bash
# PDF extraction benchmark: pages/s of lib/doc's contained converter (a forked child per document, with its
# CPU, memory and time limits on) on a corpus of PDFs, beside `pdftotext` (poppler-utils) on the same files
# in the same run; the target is 0.8 of pdftotext's rate or better. Each tool converts the whole corpus
# DOCS_ROUNDS times, alternating, and the median round counts.
# Usage: bench/docs.sh [PDF...]   (default: the manuals of Debian's r-doc-pdf in /usr/share/R/doc/manual)
#   env: PGKB_BIN_DIR (a built tree; default: builds build-release), DOCS_ROUNDS (3)
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
