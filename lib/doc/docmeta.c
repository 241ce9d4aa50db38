/* Document metadata (title, author) from the Dublin Core parts the zip formats share, and the monospace font
 * test the readers use to tell code from prose. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/doc/doc_int.h"
#include "lib/doc/docxml.h"
#include "lib/util/buf.h"
#include "lib/util/mem.h"

#define NS_META "urn:oasis:names:tc:opendocument:xmlns:meta:1.0"

void doc_meta_xml(const char *xml, size_t len, const struct doc_limits *lim, char **title, char **author)
{
	struct docxml x;
	docxml_open(&x, xml, len, "metadata", lim);
	char **into = NULL;
	struct buf b = BUF_INIT;
	while (docxml_next(&x) == 1) {
		if (x.node == DOCXML_START && !into) {
			if (docxml_is(&x, NS_DC, "title") && !*title)
				into = title;
			else if ((docxml_is(&x, NS_DC, "creator") || docxml_is(&x, NS_META, "initial-creator")) &&
			         !*author)
				into = author;
			buf_reset(&b);
		} else if (x.node == DOCXML_TEXT && into) {
			buf_puts(&b, docxml_text(&x));
		} else if (x.node == DOCXML_END && into) {
			struct buf t = BUF_INIT;
			docmd_collapse(&t, buf_str(&b), b.len);
			if (t.len > 0)
				*into = buf_steal(&t);
			buf_free(&t);
			into = NULL;
		}
	}
	buf_free(&b);
	docxml_close(&x);
}

bool doc_font_is_mono(const char *family)
{
	static const char *const mono[] = {"courier", "consolas", "mono", "menlo", "monaco", "lucida console",
	                                   "source code", "fira code", "inconsolata", "andale", "fixed", "typewriter"};
	if (!family)
		return false;
	char low[128];
	size_t n = 0;
	for (; family[n] && n + 1 < sizeof(low); n++)
		low[n] = (char)tolower((unsigned char)family[n]);
	low[n] = '\0';
	for (size_t i = 0; i < sizeof(mono) / sizeof(mono[0]); i++)
		if (strstr(low, mono[i]))
			return true;
	return false;
}
