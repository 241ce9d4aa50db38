/* OOXML relationships: parts find each other through ids and types, not fixed names. */
#include "lib/doc/ooxml_rels.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/doc/docxml.h"
#include "lib/util/buf.h"
#include "lib/util/mem.h"

char *ooxml_dir(const char *part)
{
	const char *slash = strrchr(part, '/');
	return slash ? xstrndup(part, (size_t)(slash - part) + 1) : xstrdup("");
}

char *ooxml_rels_name(const char *part)
{
	const char *slash = strrchr(part, '/');
	if (!slash)
		return xasprintf("_rels/%s.rels", part);
	return xasprintf("%.*s_rels/%s.rels", (int)(slash - part) + 1, part, slash + 1);
}

/* base + target with "." and ".." segments resolved; a ".." above the root is dropped (the entry lookup then
 * fails or finds a harmless name: nothing here touches the file system). */
char *ooxml_resolve(const char *base, const char *target)
{
	struct buf joined = BUF_INIT;
	if (target[0] != '/')
		buf_puts(&joined, base);
	buf_puts(&joined, target[0] == '/' ? target + 1 : target);
	char **seg = xcalloc(joined.len + 1, sizeof(*seg));
	size_t nseg = 0;
	char *save = NULL;
	for (char *s = strtok_r(joined.data ? joined.data : (char *)"", "/", &save); s;
	     s = strtok_r(NULL, "/", &save)) {
		if (strcmp(s, ".") == 0)
			continue;
		if (strcmp(s, "..") == 0) {
			if (nseg > 0)
				nseg--;
			continue;
		}
		seg[nseg++] = s;
	}
	struct buf out = BUF_INIT;
	for (size_t i = 0; i < nseg; i++) {
		if (i)
			buf_putc(&out, '/');
		buf_puts(&out, seg[i]);
	}
	free(seg);
	buf_free(&joined);
	return buf_steal(&out);
}

char *ooxml_rel_target(const char *xml, size_t len, const struct doc_limits *lim, const char *id,
                       const char *type_suffix, const char *base)
{
	struct docxml x;
	docxml_open(&x, xml, len, "relationships", lim);
	char *found = NULL;
	while (!found && docxml_next(&x) == 1) {
		if (x.node != DOCXML_START || !docxml_is(&x, NS_PKGREL, "Relationship"))
			continue;
		char *rid = docxml_attr(&x, NULL, "Id"), *type = docxml_attr(&x, NULL, "Type");
		char *target = docxml_attr(&x, NULL, "Target"), *mode = docxml_attr(&x, NULL, "TargetMode");
		bool match = id ? (rid && strcmp(rid, id) == 0)
		                : (type && strlen(type) >= strlen(type_suffix) &&
		                   strcmp(type + strlen(type) - strlen(type_suffix), type_suffix) == 0);
		if (match && target && !(mode && strcmp(mode, "External") == 0))
			found = ooxml_resolve(base, target);
		free(rid);
		free(type);
		free(target);
		free(mode);
	}
	docxml_close(&x);
	return found;
}
