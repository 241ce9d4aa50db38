/* pgkb import sqlite: the built-in mapping and mappings described in YAML. */
#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "cmd/pgkb/cli_import.h"
#include "lib/util/mem.h"

#define MAP_MAX_BYTES 65536
#define IDENT_MAX 63

const char *const imp_target_names[IMP_TARGETS] = {"sessions", "messages", "documents"};
const char *const imp_field_names[IMP_FIELDS] = {"id", "session_id", "user_id", "title", "role", "content",
                                                 "metadata", "created_at", "token_count", "url"};

/* The fields each target takes, and those it needs. */
static const unsigned field_allowed[IMP_TARGETS] = {
	[IMP_SESSIONS] = 1u << F_ID | 1u << F_USER_ID | 1u << F_TITLE | 1u << F_METADATA | 1u << F_CREATED_AT,
	[IMP_MESSAGES] = 1u << F_ID | 1u << F_SESSION_ID | 1u << F_ROLE | 1u << F_CONTENT | 1u << F_METADATA |
	                 1u << F_CREATED_AT | 1u << F_TOKEN_COUNT | 1u << F_USER_ID,
	[IMP_DOCUMENTS] = 1u << F_ID | 1u << F_URL | 1u << F_TITLE | 1u << F_CONTENT,
};
static const unsigned field_required[IMP_TARGETS] = {
	[IMP_SESSIONS] = 1u << F_ID,
	[IMP_MESSAGES] = 1u << F_ID | 1u << F_SESSION_ID | 1u << F_ROLE | 1u << F_CONTENT,
	[IMP_DOCUMENTS] = 1u << F_ID | 1u << F_CONTENT,
};

static void set_table(struct imp_table *t, const char *table, const char *const *pairs)
{
	t->table = xstrdup(table);
	for (; *pairs; pairs += 2)
		for (int f = 0; f < IMP_FIELDS; f++)
			if (strcmp(imp_field_names[f], pairs[0]) == 0)
				t->cols[f] = xstrdup(pairs[1]);
}

void imp_map_builtin(struct imp_map *m)
{
	*m = (struct imp_map){.name = xstrdup("builtin")};
	set_table(&m->t[IMP_SESSIONS], "conversations",
	          (const char *const[]){"id", "id", "user_id", "user_id", "title", "title", "metadata", "metadata",
	                                "created_at", "created_at", NULL});
	set_table(&m->t[IMP_MESSAGES], "messages",
	          (const char *const[]){"id", "id", "session_id", "conversation_id", "role", "role", "content",
	                                "content", "metadata", "metadata", "created_at", "created_at", NULL});
	set_table(&m->t[IMP_DOCUMENTS], "documents",
	          (const char *const[]){"id", "id", "url", "url", "title", "title", "content", "content", NULL});
}

void imp_map_free(struct imp_map *m)
{
	free(m->name);
	for (int t = 0; t < IMP_TARGETS; t++) {
		free(m->t[t].table);
		for (int f = 0; f < IMP_FIELDS; f++)
			free(m->t[t].cols[f]);
	}
	*m = (struct imp_map){0};
}

/* Names go into SQLite SQL inside double quotes: plain identifiers only, so no quoting can be escaped. */
static bool is_ident(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > IDENT_MAX || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
			return false;
	return true;
}

static const char *scalar(yaml_document_t *d, yaml_node_t *n)
{
	(void)d;
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* One target's mapping node: table and field: column pairs. */
static char *parse_target(yaml_document_t *d, yaml_node_t *n, int t, struct imp_table *out)
{
	const char *tn = imp_target_names[t];
	if (n->type != YAML_MAPPING_NODE)
		return xasprintf("%s (line %zu): expected a mapping of table and columns", tn, n->start_mark.line + 1);
	unsigned seen = 0;
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *kn = yaml_document_get_node(d, p->key), *vn = yaml_document_get_node(d, p->value);
		const char *k = scalar(d, kn), *v = scalar(d, vn);
		size_t line = kn ? kn->start_mark.line + 1 : 0;
		if (!k || !v)
			return xasprintf("%s (line %zu): keys and values must be plain names", tn, line);
		if (!is_ident(v))
			return xasprintf("%s.%s (line %zu): \"%s\" is not a plain table or column name (letters, digits, _)",
			                 tn, k, line, v);
		if (strcmp(k, "table") == 0) {
			free(out->table);
			out->table = xstrdup(v);
			continue;
		}
		int f = 0;
		while (f < IMP_FIELDS && strcmp(imp_field_names[f], k) != 0)
			f++;
		if (f == IMP_FIELDS || !(field_allowed[t] & (1u << f)))
			return xasprintf("%s (line %zu): unknown field \"%s\"", tn, line, k);
		free(out->cols[f]);
		out->cols[f] = xstrdup(v);
		seen |= 1u << f;
	}
	if (!out->table)
		return xasprintf("%s: \"table\" is missing", tn);
	for (int f = 0; f < IMP_FIELDS; f++)
		if ((field_required[t] & (1u << f)) && !(seen & (1u << f)))
			return xasprintf("%s: field \"%s\" is missing (it names the source column)", tn, imp_field_names[f]);
	return NULL;
}

int imp_map_parse_yaml(struct imp_map *m, const char *text, size_t len, const char *name, char **err)
{
	*m = (struct imp_map){.name = xstrdup(name)};
	*err = NULL;
	if (len > MAP_MAX_BYTES) {
		*err = xasprintf("the mapping is %zu bytes; the limit is %d", len, MAP_MAX_BYTES);
		imp_map_free(m);
		return -1;
	}
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		*err = xasprintf("YAML error at line %zu: %s", parser.problem_mark.line + 1,
		                 parser.problem ? parser.problem : "unreadable");
		yaml_parser_delete(&parser);
		imp_map_free(m);
		return -1;
	}
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	if (!root || root->type != YAML_MAPPING_NODE) {
		*err = xasprintf("the mapping must be a YAML mapping with sessions, messages and/or documents");
	} else {
		for (yaml_node_pair_t *p = root->data.mapping.pairs.start; !*err && p < root->data.mapping.pairs.top; p++) {
			yaml_node_t *kn = yaml_document_get_node(&doc, p->key);
			const char *k = scalar(&doc, kn);
			int t = 0;
			while (k && t < IMP_TARGETS && strcmp(imp_target_names[t], k) != 0)
				t++;
			if (!k || t == IMP_TARGETS)
				*err = xasprintf("line %zu: unknown key \"%s\" (sessions, messages, documents)",
				                 kn ? kn->start_mark.line + 1 : 0, k ? k : "?");
			else
				*err = parse_target(&doc, yaml_document_get_node(&doc, p->value), t, &m->t[t]);
		}
		if (!*err && !m->t[IMP_SESSIONS].table && !m->t[IMP_MESSAGES].table && !m->t[IMP_DOCUMENTS].table)
			*err = xasprintf("the mapping names no table to import");
		if (!*err && m->t[IMP_MESSAGES].table && !m->t[IMP_SESSIONS].table)
			*err = xasprintf("messages need sessions: map the table their session ids come from");
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	if (*err) {
		imp_map_free(m);
		return -1;
	}
	return 0;
}
