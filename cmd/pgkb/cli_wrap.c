/* pgkb CLI: long text (errors, URLs) printed whole, wrapped and indented, and safe for a terminal. */
#include <stdio.h>
#include <string.h>

#include "cmd/pgkb/cli.h"

/* Length of the UTF-8 sequence starting at s (1 for a stray byte), so a line never ends inside a character. */
static size_t char_len(const unsigned char *s)
{
	size_t n = *s >= 0xF0 ? 4 : *s >= 0xE0 ? 3 : *s >= 0xC0 ? 2 : 1;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xC0) != 0x80)
			return 1;
	return n;
}

/* Writes one character; control characters (errors and URLs come from outside: a server's reason phrase, a
 * file name) become '?', so they cannot move the cursor or change the terminal. */
static void put_char(FILE *f, const unsigned char *s, size_t n)
{
	if (n == 1 && (*s < 0x20 || *s == 0x7F))
		fputc('?', f);
	else
		fwrite(s, 1, n, f);
}

int cli_print_wrapped(FILE *f, const char *text, int indent, int width, int max_lines)
{
	const unsigned char *s = (const unsigned char *)(text ? text : "");
	int lines = 0, cols = width - indent > 20 ? width - indent : 20;
	while (*s) {
		if (max_lines > 0 && lines == max_lines) {
			fprintf(f, "%*s…\n", indent, "");
			return lines;
		}
		/* the line: up to cols characters or a newline, broken after the last space when the text goes on */
		const unsigned char *end = s, *space = NULL;
		int n = 0;
		while (*end && *end != '\n' && n < cols) {
			if (*end == ' ')
				space = end;
			end += char_len(end);
			n++;
		}
		const unsigned char *next = *end == '\n' ? end + 1 : end;
		if (*end && *end != '\n' && space && space > s) {
			end = space; /* the space itself ends no line */
			next = space + 1;
		}
		fprintf(f, "%*s", indent, "");
		for (const unsigned char *p = s; p < end;) {
			size_t l = char_len(p);
			put_char(f, p, l);
			p += l;
		}
		fputc('\n', f);
		lines++;
		s = next;
	}
	return lines;
}

void cli_print_clean(FILE *f, const char *text)
{
	const unsigned char *s = (const unsigned char *)(text ? text : "");
	while (*s) {
		size_t l = char_len(s);
		put_char(f, s, l);
		s += l;
	}
}
