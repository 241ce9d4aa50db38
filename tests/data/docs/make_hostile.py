#!/usr/bin/env python3
"""Writes the hostile regression corpus under hostile/: zip bombs (declared and lying sizes, many entries,
a total past the bound), XXE and billion-laughs XML, deep nesting, a zip nested in an EPUB, a PDF that is
garbage after its header. tests/unit/test_doc_hostile.c asserts a clear status for each, within bounds."""
import random
import struct
import zipfile

CT = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
      'content-types"><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
      'officedocument.wordprocessingml.document.main+xml"/></Types>')
W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def body(text):
    return f'<?xml version="1.0"?><w:document {W}><w:body><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:body></w:document>'


def docx(path, document, extra=()):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", CT)
        z.writestr("word/document.xml", document)
        for name, data in extra:
            z.writestr(name, data)


# 4 MiB of text in one entry: past a 1 MiB per-entry bound by its declared size (about 4 KiB on disk)
docx("hostile/bomb_entry.docx", body("a" * (4 << 20)))

# the same, with the sizes in both headers rewritten to claim 100 bytes: only the bytes actually
# inflated can stop it
docx("hostile/bomb_lying.docx", body("b" * (4 << 20)))
data = bytearray(open("hostile/bomb_lying.docx", "rb").read())
real = 4 << 20
for sig, off in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):  # uncompressed size field
    i = 0
    while (i := data.find(sig, i)) >= 0:
        (size,) = struct.unpack_from("<I", data, i + off)
        if size > real:
            struct.pack_into("<I", data, i + off, 100)
        i += 4
open("hostile/bomb_lying.docx", "wb").write(bytes(data))

# 150 tiny entries: past a bound of 100 entries
docx("hostile/many_entries.docx", body("many"), [(f"word/media/e{i}.bin", "x") for i in range(150)])

# an EPUB of 8 chapters of 900 KiB: each within a 1 MiB entry bound, together past a 4 MiB total
opf = ('<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0"><metadata '
       'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Big</dc:title></metadata><manifest>'
       + "".join(f'<item id="c{i}" href="c{i}.xhtml" media-type="application/xhtml+xml"/>' for i in range(8))
       + '</manifest><spine>' + "".join(f'<itemref idref="c{i}"/>' for i in range(8)) + '</spine></package>')
container = ('<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:'
             'container"><rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-'
             'package+xml"/></rootfiles></container>')


def epub(path, opf_xml, files):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        z.writestr("META-INF/container.xml", container)
        z.writestr("OEBPS/content.opf", opf_xml)
        for name, d in files:
            z.writestr(name, d)


epub("hostile/bomb_total.epub", opf,
     [(f"OEBPS/c{i}.xhtml", "<html><body><p>" + "c" * (900 << 10) + "</p></body></html>") for i in range(8)])

# a zip inside an EPUB, listed in the spine: never opened
inner = "hostile/_inner.zip"
with zipfile.ZipFile(inner, "w") as z:
    z.writestr("secret.xhtml", "<html><body><p>NESTEDSECRET</p></body></html>")
nested_opf = ('<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0"><metadata/>'
              '<manifest><item id="a" href="a.xhtml" media-type="application/xhtml+xml"/>'
              '<item id="z" href="inner.zip" media-type="application/zip"/></manifest>'
              '<spine><itemref idref="a"/><itemref idref="z"/></spine></package>')
epub("hostile/nested_zip.epub", nested_opf,
     [("OEBPS/a.xhtml", "<html><body><h1>Outer</h1><p>outer text</p></body></html>"),
      ("OEBPS/inner.zip", open(inner, "rb").read())])
import os
os.remove(inner)

# XXE: an external entity naming a local file, and one naming a URL
docx("hostile/xxe_file.docx",
     f'<?xml version="1.0"?><!DOCTYPE w:document [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
     f'<w:document {W}><w:body><w:p><w:r><w:t>&x;</w:t></w:r></w:p></w:body></w:document>')
docx("hostile/xxe_url.docx",
     f'<?xml version="1.0"?><!DOCTYPE w:document SYSTEM "http://127.0.0.1:9/evil.dtd">'
     f'<w:document {W}><w:body><w:p><w:r><w:t>dtd</w:t></w:r></w:p></w:body></w:document>')

# billion laughs: ten levels of ten references
ents = '<!ENTITY l0 "ha">' + "".join(f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
docx("hostile/laughs.docx",
     f'<?xml version="1.0"?><!DOCTYPE w:document [{ents}]>'
     f'<w:document {W}><w:body><w:p><w:r><w:t>&l9;</w:t></w:r></w:p></w:body></w:document>')

# 5000 nested elements
docx("hostile/deep.docx",
     f'<?xml version="1.0"?><w:document {W}><w:body>' + "<w:p>" * 5000 + "</w:p>" * 5000 + '</w:body></w:document>')

# a PDF header followed by garbage
random.seed(14)
open("hostile/garbage.pdf", "wb").write(b"%PDF-1.7\n" + bytes(random.getrandbits(8) for _ in range(3000)))

# A PDF bomb for text extraction: form XObject F9 draws F8 ten times, F8 draws F7 ten times, and so on down
# to F0, which shows a word: 10^9 words from a 2 KiB file. poppler spins (and allocates) on it until the
# converter's CPU or memory limit stops it.
def pdf(objects):
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def stream(dict_entries, data):
    return b"<< %s /Length %d >>\nstream\n%s\nendstream" % (dict_entries, len(data), data)


LEVELS = 10
objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /XObject << /F%d %d 0 R >> >> >>"
        % (LEVELS - 1, 6 + LEVELS - 1),
        stream(b"", b"/F%d Do" % (LEVELS - 1)),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
for level in range(LEVELS):  # object 6 + level is F<level>
    if level == 0:
        body, res = b"BT /H 12 Tf 72 720 Td (ha) Tj ET", b"<< /Font << /H 5 0 R >> >>"
    else:
        body, res = b" ".join([b"/F%d Do" % (level - 1)] * 10), b"<< /XObject << /F%d %d 0 R >> >>" % (level - 1, 6 + level - 1)
    objs.append(stream(b"/Type /XObject /Subtype /Form /BBox [0 0 612 792] /Resources " + res, body))
open("hostile/form_bomb.pdf", "wb").write(pdf(objs))
