#!/usr/bin/env bash
# Regenerates the document fixtures from their Markdown sources (see README.md here). Needs pandoc, groff
# (full, for -Tpdf and the pdfmark outline), qpdf and python3; the committed files are what the tests read,
# so CI needs none of these.
set -euo pipefail
cd "$(dirname "$0")"
for f in docx odt epub pptx; do pandoc -f markdown-smart sample.md -o sample.$f; done
python3 make_odp.py
pandoc -f markdown-smart manual.md -s -t ms -V fontfamily=T -o manual.ms
groff -ms -mpdfmark -Tpdf -e -t -k -KUTF-8 manual.ms > manual.pdf
rm manual.ms
python3 make_hostile.py
qpdf --encrypt secret owner 256 -- manual.pdf hostile/encrypted.pdf
