#!/usr/bin/env python3
"""Writes sample.odp: pandoc cannot write ODP and LibreOffice is too large a dependency for one fixture, so
this builds the package by hand, with the structure LibreOffice Impress gives a presentation (mimetype
stored first, content.xml with draw:page / presentation:class frames, meta.xml, styles.xml, manifest)."""
import zipfile

NS = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
      'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
      'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
      'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
      'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" '
      'xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0" '
      'xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0" '
      'xmlns:presentation="urn:oasis:names:tc:opendocument:xmlns:presentation:1.0" '
      'xmlns:dc="http://purl.org/dc/elements/1.1/" '
      'xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0" office:version="1.3"')

def frame(cls, body):
    return (f'<draw:frame presentation:class="{cls}" svg:width="25cm" svg:height="3cm" svg:x="1cm" svg:y="1cm">'
            f'<draw:text-box>{body}</draw:text-box></draw:frame>')

def bullets(items, style="L1"):
    return f'<text:list text:style-name="{style}">' + "".join(
        f'<text:list-item><text:p>{i}</text:p></text:list-item>' for i in items) + '</text:list>'

slides = [
    ("Widget Handbook", frame("subtitle", "<text:p>Ada Tester</text:p>")),
    ("Installing widgets", frame("outline",
        "<text:p>Widgets install in two steps.</text:p>"
        + bullets(["a compiler", "the widget library"])
        + bullets(["Download the archive.", "Run the installer."], "L2")
        + '<text:p text:style-name="Code">$ widget install --prefix=/opt/widget</text:p>'
        + '<text:p>Use <text:span text:style-name="Mono">widget --help</text:span> for options.</text:p>')),
    ("Reference",
        '<draw:frame svg:width="20cm" svg:height="5cm"><table:table>'
        '<table:table-row><table:table-cell><text:p>Option</text:p></table:table-cell>'
        '<table:table-cell><text:p>Meaning</text:p></table:table-cell></table:table-row>'
        '<table:table-row><table:table-cell><text:p>--prefix</text:p></table:table-cell>'
        '<table:table-cell><text:p>where files go</text:p></table:table-cell></table:table-row>'
        '</table:table></draw:frame>'),
    (None, frame("outline", "<text:p>The end of the handbook.</text:p>")),
]

pages = []
for n, (title, body) in enumerate(slides, 1):
    t = frame("title", f"<text:p>{title}</text:p>") if title else ""
    pages.append(f'<draw:page draw:name="page{n}">{t}{body}'
                 '<presentation:notes><draw:frame><draw:text-box><text:p>Speaker notes stay out.</text:p>'
                 '</draw:text-box></draw:frame></presentation:notes></draw:page>')

content = (f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {NS}>'
           '<office:font-face-decls/><office:automatic-styles>'
           '<style:style style:name="Code" style:family="paragraph">'
           '<style:text-properties style:font-name="Liberation Mono"/></style:style>'
           '<style:style style:name="Mono" style:family="text">'
           '<style:text-properties fo:font-family="Courier New"/></style:style>'
           '<text:list-style style:name="L1"><text:list-level-style-bullet text:level="1" text:bullet-char="•"/>'
           '</text:list-style><text:list-style style:name="L2">'
           '<text:list-level-style-number text:level="1" style:num-format="1"/></text:list-style>'
           '</office:automatic-styles><office:body><office:presentation>'
           + "".join(pages) + '</office:presentation></office:body></office:document-content>')
meta = (f'<?xml version="1.0" encoding="UTF-8"?><office:document-meta {NS}><office:meta>'
        '<dc:title>Widget Handbook</dc:title><meta:initial-creator>Ada Tester</meta:initial-creator>'
        '</office:meta></office:document-meta>')
styles = (f'<?xml version="1.0" encoding="UTF-8"?><office:document-styles {NS}><office:styles/>'
          '</office:document-styles>')
manifest = ('<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
            'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.3">'
            '<manifest:file-entry manifest:full-path="/" '
            'manifest:media-type="application/vnd.oasis.opendocument.presentation"/>'
            '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
            '</manifest:manifest>')

with zipfile.ZipFile("sample.odp", "w") as z:
    z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.presentation",
               compress_type=zipfile.ZIP_STORED)
    for name, data in [("content.xml", content), ("styles.xml", styles), ("meta.xml", meta),
                       ("META-INF/manifest.xml", manifest)]:
        z.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED)
