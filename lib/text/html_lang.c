/* Code block language from class names (language-x, lang-x, highlight-x) or from the code's first line. */
#include "lib/text/html_lang.h"

#include <string.h>

#include "lib/text/textstats.h"

static bool copy_lang(const char *s, size_t n, char lang[CODEBLOCK_LANG_MAX + 1])
{
	size_t o = 0;
	for (size_t i = 0; i < n && o < CODEBLOCK_LANG_MAX; i++) {
		char c = s[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c && strchr("_+#.-", c)))
			lang[o++] = c;
	}
	lang[o] = '\0';
	return o > 0;
}

static bool has_prefix(const char *s, size_t n, const char *p)
{
	size_t l = strlen(p);
	return n > l && !strncmp(s, p, l);
}

bool html_lang_from_class(const char *cls, char lang[CODEBLOCK_LANG_MAX + 1])
{
	static const char *const prefixes[] = {"language-", "lang-", "highlight-source-", "highlight-"};
	bool after_source = false;
	for (const char *p = cls; *p;) {
		while (*p && textstats_is_space((unsigned char)*p))
			p++;
		size_t n = 0;
		while (p[n] && !textstats_is_space((unsigned char)p[n]))
			n++;
		if (!n)
			break;
		if (after_source && copy_lang(p, n, lang))
			return true;
		after_source = n == 10 && !strncmp(p, "sourceCode", 10);
		for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
			size_t l = strlen(prefixes[i]);
			if (has_prefix(p, n, prefixes[i]) && copy_lang(p + l, n - l, lang))
				return true;
		}
		p += n;
	}
	return false;
}

static const char *const sql_words[] = {
	"ABORT", "ALTER", "ANALYZE", "BEGIN", "CALL", "CHECKPOINT", "CLOSE", "CLUSTER", "COMMENT", "COMMIT",
	"COPY", "CREATE", "DEALLOCATE", "DECLARE", "DELETE", "DISCARD", "DO", "DROP", "END", "EXECUTE",
	"EXPLAIN", "FETCH", "GRANT", "IMPORT", "INSERT", "LISTEN", "LOAD", "LOCK", "MERGE", "MOVE", "NOTIFY",
	"PREPARE", "REASSIGN", "REFRESH", "REINDEX", "RELEASE", "RESET", "REVOKE", "ROLLBACK", "SAVEPOINT",
	"SECURITY", "SELECT", "SET", "SHOW", "START", "TABLE", "TRUNCATE", "UNLISTEN", "UPDATE", "VACUUM",
	"VALUES", "WITH", NULL};
static const char *const c_words[] = {
	"bool", "char", "const", "double", "enum", "extern", "float", "int", "long", "short", "signed",
	"static", "struct", "typedef", "union", "unsigned", "void", "#include", "#define", "#ifdef",
	"#ifndef", "#if", "EXEC", NULL};
static const char *const shell_words[] = {
	"./configure", "apt", "apt-get", "cc", "cd", "createdb", "createuser", "dropdb", "export", "gcc",
	"git", "gmake", "initdb", "make", "mkdir", "pg_basebackup", "pg_ctl", "pg_dump", "pg_dumpall",
	"pg_restore", "pg_upgrade", "psql", "su", "sudo", "tar", "yum", NULL};
static const char *const python_words[] = {"def", "import", "from", "class", "async", NULL};

static bool in_list(const char *const *list, const char *w, size_t n)
{
	for (; *list; list++)
		if (strlen(*list) == n && !memcmp(*list, w, n))
			return true;
	return false;
}

/* Matches w against upper-case keywords when w is all upper or all lower case. */
static bool sql_word(const char *w, size_t n)
{
	char up[16];
	bool lower = false, upper = false;
	if (n >= sizeof(up))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = w[i];
		lower |= c >= 'a' && c <= 'z';
		upper |= c >= 'A' && c <= 'Z';
		up[i] = c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
	}
	return !(lower && upper) && in_list(sql_words, up, n);
}

/* True for a psql prompt at s: "name=# ", "name=> ", "=> " (also with a continuation "-#"/"->"). */
static bool psql_prompt(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && (s[i] == '_' || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')))
		i++;
	return i + 2 < n && (s[i] == '=' || s[i] == '-') && (s[i + 1] == '#' || s[i + 1] == '>') &&
	       s[i + 2] == ' ';
}

const char *html_lang_detect(const char *code, size_t n)
{
	size_t i = 0;
	while (i < n && textstats_is_space((unsigned char)code[i]))
		i++;
	const char *s = code + i;
	n -= i;
	if (!n)
		return NULL;
	if (psql_prompt(s, n) || (n > 2 && s[0] == '-' && s[1] == '-'))
		return "sql";
	if (n > 2 && s[0] == '$' && s[1] == ' ')
		return "shell";
	if (s[0] == '{' || s[0] == '[') {
		size_t j = 1;
		while (j < n && textstats_is_space((unsigned char)s[j]))
			j++;
		return j < n && (s[j] == '"' || (s[0] == '{' && s[j] == '}')) ? "json" : NULL;
	}
	size_t w = 0;
	while (w < n && !textstats_is_space((unsigned char)s[w]) && s[w] != '(' && s[w] != ';')
		w++;
	if (sql_word(s, w))
		return "sql";
	if (in_list(c_words, s, w))
		return "c";
	if (in_list(shell_words, s, w))
		return "shell";
	if (in_list(python_words, s, w) && w < n && s[w] == ' ') {
		const char *nl = memchr(s, '\n', n);
		size_t e = nl ? (size_t)(nl - s) : n;
		while (e > w && textstats_is_space((unsigned char)s[e - 1]))
			e--;
		return s[e - 1] == ';' || s[e - 1] == '{' ? NULL : "python";
	}
	return NULL;
}
