-- Embedding: the embed worker's write (vectors into the column of their dimension, in either embedding variant)
-- and the document's move to 'ready'. Called inside the embed job's fenced completion transaction.

-- Stores the vectors of one document's rows and marks the document ready when none of its rows lacks an
-- embedding any more. p_vectors is flat: the vector of p_page_ids[i] is elements (i-1)*p_dim+1 .. i*p_dim, then
-- those of p_code_ids follow. Rows deleted meanwhile (a re-ingest) are skipped. Returns the document's status
-- afterwards (NULL when the document is gone).
-- The real[] slice is assigned to the column: real[] columns take it as is, vector(n) columns through pgvector's
-- assignment cast from real[], so one function serves both variants.
CREATE FUNCTION pgkb.embed_store(p_document_id bigint, p_page_ids bigint[], p_code_ids bigint[],
                                 p_vectors real[], p_model text, p_dim integer)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	n_pages integer := coalesce(cardinality(p_page_ids), 0);
	n_codes integer := coalesce(cardinality(p_code_ids), 0);
	doc_url text;
	st text;
BEGIN
	PERFORM pgkb.check_query_embedding(NULL, p_dim);
	IF coalesce(cardinality(p_vectors), 0) <> (n_pages + n_codes) * p_dim THEN
		RAISE EXCEPTION 'pgkb: embed_store: % vector elements for % rows of dimension %',
			coalesce(cardinality(p_vectors), 0), n_pages + n_codes, p_dim USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF n_pages > 0 THEN
		EXECUTE format(
			'UPDATE public.archon_crawled_pages t SET %I = v.vec, embedding_model = $3, embedding_dimension = $4'
			'  FROM (SELECT u.id, $2[(u.o - 1) * $4 + 1 : u.o * $4] AS vec'
			'          FROM unnest($1) WITH ORDINALITY AS u(id, o)) v'
			' WHERE t.id = v.id', 'embedding_' || p_dim)
			USING p_page_ids, p_vectors, p_model, p_dim;
	END IF;
	IF n_codes > 0 THEN
		EXECUTE format(
			'UPDATE public.archon_code_examples t SET %I = v.vec, embedding_model = $3, embedding_dimension = $4'
			'  FROM (SELECT u.id, $2[(u.o - 1 + $5) * $4 + 1 : (u.o + $5) * $4] AS vec'
			'          FROM unnest($1) WITH ORDINALITY AS u(id, o)) v'
			' WHERE t.id = v.id', 'embedding_' || p_dim)
			USING p_code_ids, p_vectors, p_model, p_dim, n_pages;
	END IF;

	SELECT d.url, d.status INTO doc_url, st FROM pgkb.documents d WHERE d.id = p_document_id FOR NO KEY UPDATE;
	IF doc_url IS NULL THEN
		RETURN NULL;
	END IF;
	-- Only a document whose current chunk set is written moves on ('fetched' awaits a re-ingest).
	IF st IN ('chunked', 'embedded')
	   AND NOT EXISTS (SELECT 1 FROM public.archon_crawled_pages WHERE url = doc_url AND embedding_dimension IS NULL)
	   AND NOT EXISTS (SELECT 1 FROM public.archon_code_examples WHERE url = doc_url AND embedding_dimension IS NULL) THEN
		UPDATE pgkb.documents SET status = 'ready', ready_at = now(), error = NULL WHERE id = p_document_id;
		st := 'ready';
	END IF;
	RETURN st;
END;
$$;
