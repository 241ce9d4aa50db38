/* Turns the raw text of PDF pages (one string per page, as poppler gives it) into the Markdown-like text:
 * running headers and footers and bare page numbers dropped, hyphenation at line ends joined, wrapped lines
 * joined, and outline entries written as headings at their pages. */
#ifndef PGKB_PDFTEXT_H
#define PGKB_PDFTEXT_H

#include <stddef.h>

#include "lib/doc/docmd.h"

struct pdf_outline {
	char *title;
	int level; /* 1.. */
	size_t page; /* 0-based */
};

/* Writes pages[0..npages) into m, one docmd page each, with outline[0..nout) (in document order) as headings. */
void pdftext_write(char **pages, size_t npages, const struct pdf_outline *outline, size_t nout, struct docmd *m);
/* The first heading-like line of the text: short, not a bare number (a title fallback); heap or NULL. */
char *pdftext_first_line(char **pages, size_t npages);

#endif
