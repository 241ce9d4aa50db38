#!/usr/bin/env bash
# Relevance of `pgkb search` on a second corpus from another documentation generator: the Python 3.11 docs
# (Sphinx HTML, python3.11-doc), where t_search_relevance uses the PostgreSQL docs (DocBook). A subset of pages
# (the tutorial, the how-tos and 48 library modules: 83 pages, ~2,900 chunks) is ingested and embedded by the workers (builtin
# embedder), then 20 questions whose answering page is known are asked; the page must be in the top 5 (pages view)
# for most of them (hit rate printed). Exits 77 (skipped) without python3.11-doc.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/relevance.sh"
DOCS=${PGKB_PY_DOCS:-/usr/share/doc/python3.11/html}
MIN_HITS=${MIN_HITS:-16}
if [ ! -f "$DOCS/library/argparse.html" ]; then
	echo "SKIPPED: the Python documentation is not installed at $DOCS (apt-get install python3.11-doc)"
	rm -rf "$T_DIR"; trap - EXIT; exit 77
fi
# the subset, copied with its directory layout (the tutorial and how-tos whole, library pages by module)
LIB="argparse subprocess json re csv heapq bisect tempfile shutil glob fnmatch pathlib os os.path asyncio-task
     collections functools logging unittest sqlite3 decimal dataclasses venv hashlib datetime zoneinfo itertools
     threading socket typing pickle struct time random string contextlib enum copy urllib.request http.server
     zipfile base64 uuid statistics math timeit"
mkdir -p "$T_DIR/py/library"
cp -rL "$DOCS/tutorial" "$DOCS/howto" "$T_DIR/py/"
for m in $LIB; do cp -L "$DOCS/library/$m.html" "$T_DIR/py/library/"; done
pages=$(find "$T_DIR/py" -name '*.html' | wc -l)

pg_start
migrate
relevance_ingest "$T_DIR/py" "$pages" 300

# question | regex of the answering page(s), relative to the docs' root
QUESTIONS=(
	"parse command line arguments and options|library/argparse\\.html|howto/argparse\\.html"
	"run an external command and capture its output|library/subprocess\\.html"
	"serialize a dictionary to a JSON string|library/json\\.html"
	"regular expression named groups|library/re\\.html|howto/regex\\.html"
	"read rows from a CSV file|library/csv\\.html"
	"priority queue with a heap|library/heapq\\.html"
	"insert into a sorted list keeping it sorted|library/bisect\\.html"
	"create a temporary file that is deleted automatically|library/tempfile\\.html"
	"copy a directory tree recursively|library/shutil\\.html"
	"find files matching a wildcard pattern|library/glob\\.html|library/fnmatch\\.html|library/pathlib\\.html"
	"run coroutines concurrently and wait for them|library/asyncio-task\\.html"
	"count how many times each item occurs|library/collections\\.html"
	"cache the results of a function call|library/functools\\.html"
	"write log messages to a file|library/logging\\.html|howto/logging\\.html|howto/logging-cookbook\\.html"
	"unit test assertions and setUp fixtures|library/unittest\\.html"
	"store data in an SQLite database|library/sqlite3\\.html"
	"exact decimal arithmetic and rounding|library/decimal\\.html|tutorial/floatingpoint\\.html"
	"generate __init__ and __repr__ for a class automatically|library/dataclasses\\.html"
	"create a virtual environment|library/venv\\.html|tutorial/venv\\.html"
	"compute a SHA-256 hash of bytes|library/hashlib\\.html"
)
relevance_check "$T_DIR/pgkb.yaml" "$MIN_HITS" "Python docs"
kill -TERM "$SUP_PID"; wait "$SUP_PID"
finish
