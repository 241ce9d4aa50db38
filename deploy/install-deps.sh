#!/usr/bin/env bash
# Installs what pgkb needs to build, test and run on Debian 12 (as root, or through sudo).
set -euo pipefail
PKGS=(build-essential cmake pkg-config clang libclang-rt-14-dev
      libpq-dev libev-dev libyaml-dev libjansson-dev libxml2-dev libcurl4-openssl-dev libssl-dev zlib1g-dev
      postgresql-15 postgresql-client-15 postgresql-doc-15 python3.11-doc nginx-light valgrind procps python3 ca-certificates
      docker-compose binutils nodejs pgbouncer
      libpoppler-glib-dev libzip-dev poppler-utils r-doc-pdf libsqlite3-dev)
# lib/doc: libpoppler-glib-dev (PDF text, 0.8 MB), libzip-dev (DOCX/PPTX/ODT/ODP/EPUB containers, 0.3 MB);
# poppler-utils (pdftotext and pdfinfo for bench/docs.sh, 0.7 MB); r-doc-pdf (real PDF manuals for
# test_doc_pdf and bench/docs.sh, 16 MB). The fixtures in tests/data/docs are committed: pandoc, groff and
# qpdf are needed only to regenerate them (tests/data/docs/make_fixtures.sh).
# pgbouncer (1.18): tests/integration/t_pgbouncer.sh runs pgkb through it in session mode and checks that the
# supervisor refuses its transaction and statement modes.
missing=()
for p in "${PKGS[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p"); done
command -v npm >/dev/null || missing+=(npm)  # Debian's nodejs needs it; NodeSource's includes it
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
echo "installing: ${missing[*]}"
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
