/* Internal interfaces between doc.c (dispatch) and the format readers. */
#ifndef PGKB_DOC_INT_H
#define PGKB_DOC_INT_H

#include <stddef.h>

#include "lib/doc/doc.h"
#include "lib/doc/docmd.h"
#include "lib/doc/doczip.h"

/* Which zip format z holds, by its mimetype entry or [Content_Types].xml main part; DOC_FORMAT_UNKNOWN. */
enum doc_format doc_sniff_zip(struct doczip *z);

/* The readers. Each fills out->markdown/page_start/npages/truncated (through docmd_finish), title and author,
 * or returns a status with *err set. lim is filled. */
enum doc_status doc_read_pdf(const char *data, size_t len, const struct doc_limits *lim, struct doc_text *out,
                             char **err);
enum doc_status doc_read_docx(struct doczip *z, const struct doc_limits *lim, struct doc_text *out, char **err);
enum doc_status doc_read_pptx(struct doczip *z, const struct doc_limits *lim, struct doc_text *out, char **err);
enum doc_status doc_read_odf(struct doczip *z, const struct doc_limits *lim, struct doc_text *out, char **err);
enum doc_status doc_read_epub(struct doczip *z, const struct doc_limits *lim, struct doc_text *out, char **err);

/* The XML body converters the readers use, callable on one part for the XML fuzz target: a DOCX
 * word/document.xml (no styles or numbering), a PPTX slide, an ODF content.xml (no styles.xml). */
enum doc_status docx_body_xml(const char *xml, size_t len, const struct doc_limits *lim, struct docmd *m,
                              char **err);
enum doc_status pptx_slide_xml(const char *xml, size_t len, size_t number, const struct doc_limits *lim,
                               struct docmd *m, char **slide_title, char **err);
enum doc_status odf_content_xml(const char *xml, size_t len, const struct doc_limits *lim, struct docmd *m,
                                char **err);

/* The first dc:title and dc:creator (or meta:initial-creator) of a metadata part: OOXML docProps/core.xml,
 * ODF meta.xml, an EPUB package document. Missing ones stay NULL; a malformed part is ignored. */
void doc_meta_xml(const char *xml, size_t len, const struct doc_limits *lim, char **title, char **author);

/* True when a font family name is monospace (Courier, Consolas, ... "Mono"): its text is code. */
bool doc_font_is_mono(const char *family);

/* Sets *err to a heap string from fmt and returns st. */
enum doc_status doc_fail(char **err, enum doc_status st, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
