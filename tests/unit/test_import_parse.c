/* pgkb import sqlite's parsing: timestamps, text checks, JSON metadata and YAML mappings (the CLI's sources are
 * compiled in here: they belong to no library). */
#include <math.h>
#include <string.h>

#include "testlib.h"
#include <stdlib.h>
#include "cmd/pgkb/cli_import_conv.c"
#include "cmd/pgkb/cli_import_map.c"

static const char *ts(const char *in)
{
	static char out[64];
	return imp_parse_time_text(in, strlen(in), out, sizeof out) == 0 ? out : "ERR";
}

static const char *tn(double v)
{
	static char out[64];
	return imp_parse_time_number(v, out, sizeof out) == 0 ? out : "ERR";
}

TEST(timestamps_in_the_forms_sqlite_stores)
{
	ASSERT_STR_EQ(ts("2024-03-01"), "2024-03-01 00:00:00.000000+00:00");
	ASSERT_STR_EQ(ts("2024-03-01 12:34"), "2024-03-01 12:34:00.000000+00:00");
	ASSERT_STR_EQ(ts("2024-03-01T12:34:56Z"), "2024-03-01 12:34:56.000000+00:00");
	ASSERT_STR_EQ(ts(" 2024-03-01T12:34:56.25+02:00 "), "2024-03-01 12:34:56.250000+02:00");
	ASSERT_STR_EQ(ts("2024-03-01 12:34:56.123456789-0530"), "2024-03-01 12:34:56.123456-05:30");
	ASSERT_STR_EQ(ts("2024-02-29"), "2024-02-29 00:00:00.000000+00:00");
	ASSERT_STR_EQ(ts("1704103200"), "2024-01-01 10:00:00.000000+00:00");
	ASSERT_STR_EQ(ts("1704103200.5"), "2024-01-01 10:00:00.500000+00:00");
	ASSERT_STR_EQ(ts("1704103200000"), "2024-01-01 10:00:00.000000+00:00"); /* milliseconds */
	ASSERT_STR_EQ(tn(1704103200), "2024-01-01 10:00:00.000000+00:00");
	ASSERT_STR_EQ(tn(1704103200123.0), "2024-01-01 10:00:00.123000+00:00");
	ASSERT_STR_EQ(tn(0), "1970-01-01 00:00:00.000000+00:00");
	ASSERT_STR_EQ(ts("2023-02-29"), "ERR");
	ASSERT_STR_EQ(ts("2024-02-30 10:00"), "ERR");
	ASSERT_STR_EQ(ts("2024-13-01"), "ERR");
	ASSERT_STR_EQ(ts("2024-01-01 24:00"), "ERR");
	ASSERT_STR_EQ(ts("2024-01-01 10:00:61"), "ERR");
	ASSERT_STR_EQ(ts("2024-01-01T10:00:00+15:00"), "ERR");
	ASSERT_STR_EQ(ts("last tuesday"), "ERR");
	ASSERT_STR_EQ(ts(""), "ERR");
	ASSERT_STR_EQ(ts("2024-01-01x"), "ERR");
	ASSERT_STR_EQ(ts("2024-1-1"), "ERR");
	ASSERT_STR_EQ(ts("12abc"), "ERR");
	ASSERT_STR_EQ(ts("1800-01-01"), "ERR");
	ASSERT_STR_EQ(tn(HUGE_VAL), "ERR");
	ASSERT_STR_EQ(tn(1e18), "ERR");
}

TEST(text_with_nul_or_bad_utf8_is_refused_with_its_offset)
{
	char *why;
	ASSERT_TRUE(imp_check_text("content", "héllo", strlen("héllo")) == NULL);
	why = imp_check_text("content", "ab\0cd", 5);
	ASSERT_STR_EQ(why, "content: NUL byte at offset 2");
	free(why);
	why = imp_check_text("title", "caf\xe9!", 5);
	ASSERT_STR_EQ(why, "title: invalid UTF-8 at byte 3");
	free(why);
	why = imp_check_text("title", "\xed\xa0\x80", 3); /* a surrogate */
	ASSERT_STR_EQ(why, "title: invalid UTF-8 at byte 0");
	free(why);
}

TEST(metadata_must_be_a_json_object)
{
	char *err;
	json_t *o = imp_parse_metadata(NULL, 0, &err);
	ASSERT_TRUE(o && json_is_object(o) && json_object_size(o) == 0 && !err);
	json_decref(o);
	o = imp_parse_metadata("{\"a\": 1}", 8, &err);
	ASSERT_TRUE(o && json_integer_value(json_object_get(o, "a")) == 1);
	json_decref(o);
	ASSERT_TRUE(imp_parse_metadata("[1]", 3, &err) == NULL);
	ASSERT_STR_EQ(err, "metadata: JSON but not an object");
	free(err);
	ASSERT_TRUE(imp_parse_metadata("{oops", 5, &err) == NULL);
	ASSERT_TRUE(strncmp(err, "metadata: not JSON (", 20) == 0);
	free(err);
	ASSERT_TRUE(imp_parse_metadata("{\"a\":1,\"a\":2}", 13, &err) == NULL); /* duplicate keys */
	free(err);
}

static int parse(const char *yaml, struct imp_map *m, char **err)
{
	return imp_map_parse_yaml(m, yaml, strlen(yaml), "test.yaml", err);
}

TEST(mappings_builtin_and_yaml)
{
	struct imp_map m;
	char *err = NULL;
	imp_map_builtin(&m);
	ASSERT_STR_EQ(m.t[IMP_SESSIONS].table, "conversations");
	ASSERT_STR_EQ(m.t[IMP_MESSAGES].cols[F_SESSION_ID], "conversation_id");
	ASSERT_STR_EQ(m.t[IMP_DOCUMENTS].cols[F_URL], "url");
	ASSERT_TRUE(m.t[IMP_DOCUMENTS].cols[F_ROLE] == NULL);
	imp_map_free(&m);

	ASSERT_TRUE(parse("sessions: {table: chats, id: chat_id, user_id: owner}\n"
	            "messages:\n  table: chat_lines\n  id: line_id\n  session_id: chat_id\n  role: speaker\n"
	            "  content: body\n  created_at: ts\n  token_count: tokens\n", &m, &err) == 0);
	ASSERT_STR_EQ(m.name, "test.yaml");
	ASSERT_STR_EQ(m.t[IMP_SESSIONS].table, "chats");
	ASSERT_STR_EQ(m.t[IMP_SESSIONS].cols[F_USER_ID], "owner");
	ASSERT_STR_EQ(m.t[IMP_MESSAGES].cols[F_ROLE], "speaker");
	ASSERT_STR_EQ(m.t[IMP_MESSAGES].cols[F_TOKEN_COUNT], "tokens");
	ASSERT_TRUE(m.t[IMP_DOCUMENTS].table == NULL);
	imp_map_free(&m);

	ASSERT_TRUE(parse("documents: {table: notes, id: id, content: body, title: name}\n", &m, &err) == 0);
	imp_map_free(&m);

	ASSERT_TRUE(parse("messages: {table: m, id: id, session_id: s, role: r, content: c}\n", &m, &err) == -1);
	ASSERT_TRUE(strstr(err, "messages need sessions") != NULL);
	free(err);
	ASSERT_TRUE(parse("sessions: {table: \"x\\\"; DROP\", id: id}\n", &m, &err) == -1);
	ASSERT_TRUE(strstr(err, "is not a plain table or column name") != NULL);
	free(err);
	ASSERT_TRUE(parse("sessions: {table: s, id: id, colour: c}\n", &m, &err) == -1);
	ASSERT_TRUE(strstr(err, "unknown field \"colour\"") != NULL);
	free(err);
	ASSERT_TRUE(parse("documents: {table: d, id: id, role: r, content: c}\n", &m, &err) == -1); /* no role on documents */
	free(err);
	ASSERT_TRUE(parse("sessions: {id: id}\n", &m, &err) == -1);
	ASSERT_TRUE(strstr(err, "\"table\" is missing") != NULL);
	free(err);
	ASSERT_TRUE(parse("messages: {table: m, id: id}\nsessions: {table: s, id: id}\n", &m, &err) == -1);
	ASSERT_TRUE(strstr(err, "field \"session_id\" is missing") != NULL);
	free(err);
	ASSERT_TRUE(parse("sessions: [1, 2]\n", &m, &err) == -1);
	free(err);
	ASSERT_TRUE(parse("sessions: {table: s\n", &m, &err) == -1);
	ASSERT_TRUE(strncmp(err, "YAML error at line", 18) == 0);
	free(err);
	ASSERT_TRUE(parse("users: {table: u}\n", &m, &err) == -1);
	free(err);
	ASSERT_TRUE(parse("- a\n", &m, &err) == -1);
	free(err);
}

int main(int argc, char **argv)
{
	return test_main(argc, argv);
}
