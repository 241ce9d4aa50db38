/* Safe streaming XML for document parts; see docxml.h for what is refused and why. */
#include "lib/doc/docxml.h"

#include <libxml/xmlreader.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/mem.h"

/* The parser options: neither XML_PARSE_NOENT (substitute entities), XML_PARSE_DTDLOAD, XML_PARSE_DTDATTR,
 * XML_PARSE_DTDVALID nor XML_PARSE_HUGE; no network, no error printing (errors come back through the
 * reader's handler). */
#define DOCXML_OPTIONS (XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA)

static void on_error(void *arg, xmlErrorPtr e)
{
	struct docxml *x = arg;
	if (e->level < XML_ERR_ERROR || x->err)
		return;
	const char *msg = e->message ? e->message : "error";
	size_t n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		n--;
	x->st = DOC_MALFORMED;
	x->err = xasprintf("%s: XML error at line %d: %.*s", x->part, e->line, (int)(n > 200 ? 200 : n), msg);
}

void docxml_open(struct docxml *x, const char *data, size_t len, const char *part, const struct doc_limits *lim)
{
	memset(x, 0, sizeof(*x));
	x->part = part;
	x->max_depth = lim->max_xml_depth;
	if (len > (size_t)INT32_MAX) {
		x->st = DOC_TOO_LARGE;
		x->err = xasprintf("%s: XML part too large", part);
		return;
	}
	xmlTextReaderPtr r = xmlReaderForMemory(data, (int)len, NULL, NULL, DOCXML_OPTIONS);
	if (!r) {
		x->st = DOC_MALFORMED;
		x->err = xasprintf("%s: XML reader could not start", part);
		return;
	}
	xmlTextReaderSetStructuredErrorHandler(r, on_error, x);
	x->reader = r;
}

static int fail(struct docxml *x, enum doc_status st, char *msg)
{
	if (!x->err) {
		x->st = st;
		x->err = msg;
	} else {
		free(msg);
	}
	return -1;
}

int docxml_next(struct docxml *x)
{
	if (x->err || !x->reader)
		return -1;
	xmlTextReaderPtr r = x->reader;
	if (x->empty_pending) {
		x->empty_pending = false;
		x->node = DOCXML_END;
		return 1;
	}
	for (;;) {
		int rc = xmlTextReaderRead(r);
		if (rc < 0 || x->err)
			return fail(x, DOC_MALFORMED, xasprintf("%s: XML is not well formed", x->part));
		if (rc == 0)
			return 0;
		int type = xmlTextReaderNodeType(r);
		x->depth = xmlTextReaderDepth(r);
		switch (type) {
		case XML_READER_TYPE_DOCUMENT_TYPE:
		case XML_READER_TYPE_ENTITY_REFERENCE:
		case XML_READER_TYPE_ENTITY:
			return fail(x, DOC_MALFORMED, xasprintf("%s: XML with a DTD or entities is refused", x->part));
		case XML_READER_TYPE_ELEMENT:
			if (x->depth < 0 || (size_t)x->depth >= x->max_depth)
				return fail(x, DOC_TOO_LARGE,
				            xasprintf("%s: XML nested deeper than %zu elements", x->part, x->max_depth));
			x->node = DOCXML_START;
			x->empty_pending = xmlTextReaderIsEmptyElement(r) == 1;
			return 1;
		case XML_READER_TYPE_END_ELEMENT:
			x->node = DOCXML_END;
			return 1;
		case XML_READER_TYPE_TEXT:
		case XML_READER_TYPE_CDATA:
		case XML_READER_TYPE_WHITESPACE:
		case XML_READER_TYPE_SIGNIFICANT_WHITESPACE:
			x->node = DOCXML_TEXT;
			return 1;
		default: /* comments, processing instructions, the XML declaration */
			continue;
		}
	}
}

bool docxml_is(const struct docxml *x, const char *ns, const char *local)
{
	xmlTextReaderPtr r = x->reader;
	const char *l = (const char *)xmlTextReaderConstLocalName(r);
	if (!l || strcmp(l, local) != 0)
		return false;
	const char *u = (const char *)xmlTextReaderConstNamespaceUri(r);
	return ns ? (u && strcmp(u, ns) == 0) : !u;
}

char *docxml_attr(const struct docxml *x, const char *ns, const char *local)
{
	xmlChar *v = ns ? xmlTextReaderGetAttributeNs(x->reader, (const xmlChar *)local, (const xmlChar *)ns)
	                : xmlTextReaderGetAttribute(x->reader, (const xmlChar *)local);
	if (!v)
		return NULL;
	char *s = xstrdup((const char *)v);
	xmlFree(v);
	return s;
}

const char *docxml_text(const struct docxml *x)
{
	const char *v = (const char *)xmlTextReaderConstValue(x->reader);
	return v ? v : "";
}

enum doc_status docxml_take_error(struct docxml *x, char **err)
{
	*err = x->err ? x->err : xasprintf("%s: XML error", x->part);
	x->err = NULL;
	return x->st ? x->st : DOC_MALFORMED;
}

void docxml_close(struct docxml *x)
{
	if (x->reader)
		xmlFreeTextReader(x->reader);
	free(x->err);
	memset(x, 0, sizeof(*x));
}
