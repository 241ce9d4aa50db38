/* A streaming XML reader (libxml2 xmlReader) for one part of a document, set up so that hostile XML stays
 * harmless: no entity substitution, no DTD loading or validation, no network, and a part that declares a DTD
 * at all is refused (OOXML, ODF and EPUB package parts never have one), which stops XXE and billion-laughs
 * before any entity is referenced. Element nesting is bounded. */
#ifndef PGKB_DOCXML_H
#define PGKB_DOCXML_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/doc/doc.h"

/* Namespaces of the parts read. */
#define NS_W "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
#define NS_A "http://schemas.openxmlformats.org/drawingml/2006/main"
#define NS_P "http://schemas.openxmlformats.org/presentationml/2006/main"
#define NS_R "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
#define NS_PKGREL "http://schemas.openxmlformats.org/package/2006/relationships"
#define NS_DC "http://purl.org/dc/elements/1.1/"
#define NS_TEXT "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
#define NS_TABLE "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
#define NS_DRAW "urn:oasis:names:tc:opendocument:xmlns:drawing:1.0"
#define NS_STYLE "urn:oasis:names:tc:opendocument:xmlns:style:1.0"
#define NS_FO "urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0"
#define NS_OFFICE "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
#define NS_PRES "urn:oasis:names:tc:opendocument:xmlns:presentation:1.0"
#define NS_SVG "urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0"
#define NS_OPF "http://www.idpf.org/2007/opf"
#define NS_CONTAINER "urn:oasis:names:tc:opendocument:xmlns:container"

enum docxml_node { DOCXML_START, DOCXML_END, DOCXML_TEXT };

struct docxml {
	void *reader; /* xmlTextReaderPtr */
	const char *part;
	size_t max_depth;
	enum doc_status st;
	char *err; /* heap; set when docxml_next returned -1 */
	enum docxml_node node;
	int depth;
	bool empty_pending; /* an empty element <x/> was returned as START; its END comes next */
};

/* Starts reading data[0..len) (which must outlive the reader), named part in messages. */
void docxml_open(struct docxml *x, const char *data, size_t len, const char *part, const struct doc_limits *lim);
/* Moves to the next start tag, end tag or text; an empty element gives a START then an END.
 * Returns 1, 0 at the end of the document, or -1 with x->st and x->err set (malformed, DTD, too deep). */
int docxml_next(struct docxml *x);
/* For START and END: true when the element is ns:local. */
bool docxml_is(const struct docxml *x, const char *ns, const char *local);
/* For START: the value of attribute ns:local (ns NULL: no namespace) as a heap string, or NULL. */
char *docxml_attr(const struct docxml *x, const char *ns, const char *local);
/* For TEXT: the text (entities resolved by XML rules); valid until the next docxml_next. */
const char *docxml_text(const struct docxml *x);
/* Moves the error out (status returned, *err set) for a reader whose docxml_next returned -1. */
enum doc_status docxml_take_error(struct docxml *x, char **err);
void docxml_close(struct docxml *x);

#endif
