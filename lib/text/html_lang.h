/* Code block languages for the HTML converter: from class names, else guessed from the code itself. */
#ifndef PGKB_HTML_LANG_H
#define PGKB_HTML_LANG_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/text/codeblock.h"

/* Reads a language from a class attribute value: a token "language-X", "lang-X", "highlight-source-X" or
 * "highlight-X", or the token after "sourceCode". Writes it lowercased (at most CODEBLOCK_LANG_MAX bytes of
 * [a-z0-9_+#.-]) into lang and returns true; returns false (lang untouched) when there is none. */
bool html_lang_from_class(const char *cls, char lang[CODEBLOCK_LANG_MAX + 1]);
/* Guesses the language of code[0..n) from how it starts: "sql" (SQL keywords, psql prompts, "--"
 * comments), "c", "shell" ("$ " prompts and common commands), "python", "json"; NULL when unsure. */
const char *html_lang_detect(const char *code, size_t n);

#endif
