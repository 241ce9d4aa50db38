/* Unit tests: kbdoc's builtin vectors, one per chunk and code example, the same the embed worker computes. */
#include "lib/text/kbdoc.h"
#include "testlib.h"

#include <jansson.h>
#include <stdlib.h>

#include "lib/embed/embed_builtin.h"

static const char page[] =
	"<html><head><title>Partial indexes</title></head><body><h1>Partial indexes</h1>"
	"<p>A partial index is built over a subset of a table, defined by a conditional expression.</p>"
	"<pre class=\"programlisting\">CREATE INDEX orders_unbilled_index ON orders (order_nr)\n"
	"    WHERE billed IS NOT TRUE;</pre>"
	"<h2>When to use one</h2><p>When most queries look at a small part of the rows.</p></body></html>";

static int same(const float *a, const float *b, int dim)
{
	return memcmp(a, b, (size_t)dim * sizeof(float)) == 0;
}

/* Each row's vector is embed_builtin of what the embed worker loads for it: a chunk's content; a code example's
 * content, a blank line and its summary. */
TEST(vectors_match_the_embed_worker_texts)
{
	struct kbdoc_opts o = {200, 20, 20, 384};
	struct kbdoc doc;
	char *err = NULL;
	ASSERT_INT_EQ(kbdoc_build(page, sizeof page - 1, "text/html", "p.html", "file:///p.html", "s", "p", &o, &doc, &err), 0);
	ASSERT_TRUE(doc.nchunks >= 2);
	ASSERT_INT_EQ(doc.ncodes, 1);
	ASSERT_TRUE(doc.chunk_vectors != NULL && doc.code_vectors != NULL);
	json_t *chunks = json_loads(doc.chunks_json, 0, NULL), *codes = json_loads(doc.codes_json, 0, NULL);
	ASSERT_INT_EQ(json_array_size(chunks), doc.nchunks);
	float v[384];
	for (int i = 0; i < doc.nchunks; i++) {
		const char *c = json_string_value(json_object_get(json_array_get(chunks, (size_t)i), "content"));
		embed_builtin(c, strlen(c), 384, v);
		ASSERT_TRUE(same(doc.chunk_vectors + (size_t)i * 384, v, 384));
	}
	json_t *row = json_array_get(codes, 0);
	const char *code = json_string_value(json_object_get(row, "content"));
	const char *summary = json_string_value(json_object_get(row, "summary"));
	ASSERT_TRUE(*summary != '\0');
	char *text = malloc(strlen(code) + strlen(summary) + 3);
	sprintf(text, "%s\n\n%s", code, summary);
	embed_builtin(text, strlen(text), 384, v);
	ASSERT_TRUE(same(doc.code_vectors, v, 384));
	free(text);
	json_decref(chunks);
	json_decref(codes);
	kbdoc_free(&doc);
}

TEST(no_vectors_without_a_dimension)
{
	struct kbdoc_opts o = {200, 20, 20, 0};
	struct kbdoc doc;
	char *err = NULL;
	ASSERT_INT_EQ(kbdoc_build(page, sizeof page - 1, "text/html", "p.html", "file:///p.html", "s", "p", &o, &doc, &err), 0);
	ASSERT_TRUE(doc.chunk_vectors == NULL && doc.code_vectors == NULL);
	kbdoc_free(&doc);
}

TEST(an_unknown_dimension_is_an_error)
{
	struct kbdoc_opts o = {200, 20, 20, 100};
	struct kbdoc doc;
	char *err = NULL;
	ASSERT_INT_EQ(kbdoc_build(page, sizeof page - 1, "text/html", "p.html", "file:///p.html", "s", "p", &o, &doc, &err), -1);
	ASSERT_STR_CONTAINS(err, "dimension 100");
	free(err);
}

TEST(an_empty_document_has_no_vectors)
{
	struct kbdoc_opts o = {200, 20, 20, 384};
	struct kbdoc doc;
	char *err = NULL;
	ASSERT_INT_EQ(kbdoc_build("", 0, "text/plain", "e.txt", "file:///e.txt", "s", "e", &o, &doc, &err), 0);
	ASSERT_INT_EQ(doc.nchunks, 0);
	ASSERT_TRUE(doc.chunk_vectors == NULL && doc.code_vectors == NULL);
	kbdoc_free(&doc);
}

int main(int argc, char **argv)
{
	return test_main(argc, argv);
}
