-- Ingest: write one converted document (page metadata, chunks, code examples) in one call, keeping the rows
-- (and embeddings) of chunks whose content hash is unchanged, and enqueue the embed job for what is new.
-- The ingest worker calls these inside its fenced completion transaction, so a worker whose lease was lost
-- writes nothing, and a retried job finds its earlier result and changes nothing.
--
-- Choices made for the cost of ingest writes (measured on the PostgreSQL documentation: README, Benchmarks):
-- 1. No hot row per source. Adding each page's word count to archon_sources.total_word_count inside the ingest
--    transaction made every ingest of a source update that one row and hold its lock until commit, so concurrent
--    ingests of a source queued behind each other (even the ON CONFLICT DO NOTHING insert of the source waits for
--    an uncommitted update of it), and the foreign-key checks of every chunk insert walked the row's growing chain
--    of versions, each locked by other transactions (multixacts): more server CPU than the inserts themselves.
--    So an ingest appends the page's change to pgkb.source_word_deltas, and pgkb.fold_source_word_counts() adds
--    the deltas to archon_sources in a short transaction of its own; the ingest workers call it a moment after
--    their results commit. total_word_count trails the pages by that moment (about 0.1 s).
-- 2. Static SQL. Building the row-swap statements with EXECUTE format() for either table made every call parse
--    and plan them again (about a sixth of the server's CPU during an ingest). pgkb.swap_chunk_rows and
--    pgkb.swap_code_rows are generated from one template at migration time instead, so their statements are
--    static SQL that plpgsql plans once per session; they skip the matching of old rows for a new page.
-- 3. Vectors at insert. pgkb.ingest_document takes optional vectors for the rows (the ingest worker computes them
--    when the embedder is the builtin one), so new chunks are inserted once, with their embedding, instead of
--    inserted and then updated by the embed worker: that UPDATE sets embedding_dimension, so it cannot be HOT and
--    every index of the row, the trigram and tsvector GIN indexes included, gets a second entry. A document whose
--    rows all have vectors is 'ready' at once and gets no embed job.

-- Chunk or code-example rows of one document as the worker sends them: a JSON array of
-- {"n": chunk_number, "hash": content_hash, "content": text, "metadata": {...}, "summary": text (code only)},
-- with each row's position in the array (ord, 1-based): row i's vector is elements (i-1)*dim+1 .. i*dim of the
-- vectors passed with them.
CREATE FUNCTION pgkb.ingest_rows(p jsonb)
RETURNS TABLE (ord integer, n integer, hash text, content text, metadata jsonb, summary text)
LANGUAGE sql IMMUTABLE AS $$
	SELECT r.ord::integer, r.n, r.hash, r.content, coalesce(r.metadata, '{}'), coalesce(r.summary, '')
	  FROM ROWS FROM (jsonb_to_recordset(coalesce(p, '[]'))
	                  AS (n integer, hash text, content text, metadata jsonb, summary text))
	       WITH ORDINALITY AS r(n, hash, content, metadata, summary, ord)
$$;

-- Word-count changes of sources not yet added to archon_sources.total_word_count. Insert-only for the ingest
-- transactions (no lock on a shared row); pgkb.fold_source_word_counts() deletes what it adds.
CREATE TABLE pgkb.source_word_deltas (
	source_id text   NOT NULL,
	delta     bigint NOT NULL
);

-- Adds the committed deltas to archon_sources.total_word_count (deltas of a source that no longer exists are
-- dropped) and deletes them, in one transaction. One caller at a time: returns -1 at once when another fold is
-- running (call again later), else the number of deltas folded.
CREATE FUNCTION pgkb.fold_source_word_counts() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
	n integer;
BEGIN
	IF NOT pg_try_advisory_xact_lock(hashtextextended('pgkb.fold_source_word_counts', 0)) THEN
		RETURN -1;
	END IF;
	WITH d AS (
		DELETE FROM pgkb.source_word_deltas RETURNING source_id, delta
	), s AS (
		SELECT source_id, sum(delta) AS delta, count(*) AS n FROM d GROUP BY source_id
	), u AS (
		UPDATE public.archon_sources a SET total_word_count = (coalesce(a.total_word_count, 0) + s.delta)::integer
		  FROM s WHERE a.source_id = s.source_id AND s.delta <> 0
	)
	SELECT coalesce(sum(s.n), 0) INTO n FROM s;
	RETURN n;
END;
$$;

-- Swaps the row set of one document (url) in archon_crawled_pages (pgkb.swap_chunk_rows, whose rows also carry
-- p_page_id) or archon_code_examples (pgkb.swap_code_rows, whose rows carry their summary), with optional
-- vectors (p_vectors NULL: the new rows have none): rows whose hash is in the new set stay (renumbered, metadata
-- refreshed, embedding kept), vanished rows are deleted, new rows are inserted with their vector, p_model and
-- p_dim. Identical chunks are matched one to one in order.
-- One algorithm for both tables, written once below; the DO block instantiates it per table (static SQL, see 2.
-- above). Placeholders: @FN@ function name, @TBL@ table, @PAGE_PARAM@ / @PAGE_SET@ / @PAGE_CHANGED@ the chunks'
-- page_id parameter, refresh and change test, @EXTRA_COL@ / @EXTRA_VAL@ the table's own inserted column.
DO $gen$
DECLARE
	t record;
	tpl constant text := $tpl$
CREATE FUNCTION pgkb.@FN@(p_url text, p_source_id text@PAGE_PARAM@, p_rows jsonb,
                        p_vectors real[], p_model text, p_dim integer,
                        OUT inserted integer, OUT kept integer, OUT deleted integer)
LANGUAGE plpgsql AS $fn$
DECLARE
	kept_ids bigint[] := '{}';
	kept_ns integer[] := '{}';
BEGIN
	kept := 0;
	deleted := 0;
	IF EXISTS (SELECT 1 FROM public.@TBL@ WHERE url = p_url) THEN
		-- match old rows to new chunks by hash (the k-th copy of a hash to the k-th copy)
		SELECT coalesce(array_agg(o.id), '{}'), coalesce(array_agg(r.n), '{}') INTO kept_ids, kept_ns
		  FROM (SELECT id, content_hash, row_number() OVER (PARTITION BY content_hash ORDER BY chunk_number) AS k
		          FROM public.@TBL@ WHERE url = p_url) o
		  JOIN (SELECT r.n, r.hash, row_number() OVER (PARTITION BY r.hash ORDER BY r.n) AS k
		          FROM pgkb.ingest_rows(p_rows) r) r ON r.hash = o.content_hash AND r.k = o.k;
		kept := cardinality(kept_ids);
		DELETE FROM public.@TBL@ WHERE url = p_url AND NOT (id = ANY (kept_ids));
		GET DIAGNOSTICS deleted = ROW_COUNT;
		-- renumber kept rows whose position moved: through negative numbers, as UNIQUE (url, chunk_number) is
		-- checked row by row
		UPDATE public.@TBL@ t SET chunk_number = -1 - m.n
		  FROM unnest(kept_ids, kept_ns) AS m(id, n)
		 WHERE t.id = m.id AND t.chunk_number <> m.n;
		UPDATE public.@TBL@ SET chunk_number = -1 - chunk_number WHERE url = p_url AND chunk_number < 0;
		-- refresh metadata (heading path, position) of kept rows where it changed; content and embedding stay
		UPDATE public.@TBL@ t SET metadata = r.metadata, source_id = p_source_id@PAGE_SET@
		  FROM pgkb.ingest_rows(p_rows) r
		 WHERE t.url = p_url AND t.chunk_number = r.n AND t.id = ANY (kept_ids)
		   AND (t.metadata IS DISTINCT FROM r.metadata OR t.source_id IS DISTINCT FROM p_source_id@PAGE_CHANGED@);
	END IF;
	INSERT INTO public.@TBL@ (url, chunk_number, content, metadata, source_id, content_hash, @EXTRA_COL@,
	                           embedding_384, embedding_768, embedding_1024, embedding_1536, embedding_3072,
	                           embedding_model, embedding_dimension)
	SELECT p_url, r.n, r.content, r.metadata, p_source_id, r.hash, @EXTRA_VAL@,
	       CASE WHEN p_dim = 384 THEN v.vec END, CASE WHEN p_dim = 768 THEN v.vec END,
	       CASE WHEN p_dim = 1024 THEN v.vec END, CASE WHEN p_dim = 1536 THEN v.vec END,
	       CASE WHEN p_dim = 3072 THEN v.vec END,
	       CASE WHEN v.vec IS NOT NULL THEN p_model END, CASE WHEN v.vec IS NOT NULL THEN p_dim END
	  FROM pgkb.ingest_rows(p_rows) r
	 CROSS JOIN LATERAL (SELECT p_vectors[(r.ord - 1) * p_dim + 1 : r.ord * p_dim] AS vec) v
	 WHERE NOT (r.n = ANY (kept_ns));
	GET DIAGNOSTICS inserted = ROW_COUNT;
END;
$fn$;
$tpl$;
BEGIN
	FOR t IN
		SELECT * FROM (VALUES
			('swap_chunk_rows', 'archon_crawled_pages', ', p_page_id uuid', ', page_id = p_page_id',
			 E'\n\t\t        OR t.page_id IS DISTINCT FROM p_page_id', 'page_id', 'p_page_id'),
			('swap_code_rows', 'archon_code_examples', '', '', '', 'summary', 'r.summary'))
		       AS v(fn, tbl, page_param, page_set, page_changed, extra_col, extra_val)
	LOOP
		EXECUTE replace(replace(replace(replace(replace(replace(replace(tpl,
			'@FN@', t.fn), '@TBL@', t.tbl), '@PAGE_PARAM@', t.page_param), '@PAGE_SET@', t.page_set),
			'@PAGE_CHANGED@', t.page_changed), '@EXTRA_COL@', t.extra_col), '@EXTRA_VAL@', t.extra_val);
	END LOOP;
END $gen$;

-- Writes a converted document. p_doc_hash (may be NULL) identifies the input and the settings it was converted
-- with: when the document already has that hash and was ingested, nothing at all is written and result is
-- 'unchanged'. p_chunk_vectors and p_code_vectors hold the embeddings of the rows of p_chunks and p_codes, flat,
-- in array order (row i: elements (i-1)*p_dim+1 .. i*p_dim), made by model p_model; both NULL when the document
-- comes without them (the embed worker embeds the new rows later). Kept rows keep the embedding they have.
-- Result 'ready' when every row of the document has an embedding afterwards, else 'chunked' with an embed job.
-- Ownership (083_sources.sql): a source under deletion takes no new rows,
-- and a URL owned by another source is not taken from it (the document fails with the owner's name; result
-- 'failed', nothing else written).
CREATE FUNCTION pgkb.ingest_document(
	p_source_id text, p_url text, p_kind text, p_doc_hash text,
	p_title text, p_description text, p_full_content text, p_word_count integer, p_char_count integer,
	p_chunks jsonb, p_codes jsonb, p_source_url text,
	p_chunk_vectors real[], p_code_vectors real[], p_model text, p_dim integer,
	OUT result text, OUT document_id bigint, OUT chunks_inserted integer, OUT chunks_kept integer,
	OUT chunks_deleted integer, OUT codes_inserted integer, OUT codes_deleted integer, OUT embed_job_id bigint)
LANGUAGE plpgsql AS $$
DECLARE
	doc record;
	page uuid;
	old_source text;
	old_words integer;
	owner text;
	unembedded boolean;
	nchunks integer := jsonb_array_length(p_chunks);
	ncodes integer := jsonb_array_length(p_codes);
BEGIN
	IF p_chunk_vectors IS NOT NULL OR p_code_vectors IS NOT NULL THEN
		PERFORM pgkb.check_query_embedding(NULL, p_dim);
		IF p_model IS NULL OR coalesce(cardinality(p_chunk_vectors), 0) <> nchunks * p_dim
		   OR coalesce(cardinality(p_code_vectors), 0) <> ncodes * p_dim THEN
			RAISE EXCEPTION 'pgkb: ingest_document: % chunk and % code vector elements for % chunks and % code examples of dimension % (model %)',
				coalesce(cardinality(p_chunk_vectors), 0), coalesce(cardinality(p_code_vectors), 0), nchunks, ncodes,
				p_dim, coalesce(p_model, 'NULL') USING ERRCODE = 'invalid_parameter_value';
		END IF;
	END IF;
	PERFORM pgkb.source_refuse_deleted(p_source_id);
	-- the source: a plain read first, so an existing row is neither locked nor waited for
	IF NOT EXISTS (SELECT 1 FROM public.archon_sources WHERE source_id = p_source_id) THEN
		INSERT INTO public.archon_sources (source_id, source_url, source_display_name)
		VALUES (p_source_id, p_source_url, p_source_url)
		ON CONFLICT (source_id) DO NOTHING;
	END IF;
	-- concurrent ingests of one document serialise on its row
	SELECT d.id, d.status, d.content_hash INTO doc
	  FROM pgkb.documents d WHERE d.source_id = p_source_id AND d.url = p_url FOR NO KEY UPDATE;
	IF NOT FOUND THEN
		INSERT INTO pgkb.documents (source_id, url, kind, status)
		VALUES (p_source_id, p_url, p_kind, 'fetched')
		ON CONFLICT (source_id, url) DO NOTHING;
		SELECT d.id, d.status, d.content_hash INTO doc
		  FROM pgkb.documents d WHERE d.source_id = p_source_id AND d.url = p_url FOR NO KEY UPDATE;
	END IF;
	document_id := doc.id;
	IF p_doc_hash IS NOT NULL AND doc.content_hash = p_doc_hash AND doc.status IN ('chunked', 'embedded', 'ready') THEN
		result := 'unchanged';
		RETURN;
	END IF;

	-- ingests of one URL into different sources serialise here, so exactly one of them becomes its owner
	PERFORM pg_advisory_xact_lock(hashtextextended('pgkb.url:' || p_url, 0));
	owner := pgkb.url_other_owner(p_url, p_source_id);
	IF owner IS NOT NULL THEN
		result := 'failed';
		UPDATE pgkb.documents SET status = 'failed', body = NULL, chunk_count = 0, code_count = 0,
		       error = 'url ' || p_url || ' is owned by source ' || owner
		 WHERE id = doc.id;
		RETURN;
	END IF;

	SELECT m.source_id, m.word_count INTO old_source, old_words FROM public.archon_page_metadata m WHERE m.url = p_url;
	INSERT INTO public.archon_page_metadata AS pm
		(source_id, url, full_content, section_title, word_count, char_count, chunk_count, metadata)
	VALUES (p_source_id, p_url, p_full_content, nullif(p_title, ''), p_word_count, p_char_count, nchunks,
	        jsonb_build_object('title', p_title, 'description', p_description, 'code_examples', ncodes,
	                           'document_id', doc.id))
	ON CONFLICT (url) DO UPDATE SET
		source_id = EXCLUDED.source_id, full_content = EXCLUDED.full_content,
		section_title = EXCLUDED.section_title, word_count = EXCLUDED.word_count,
		char_count = EXCLUDED.char_count, chunk_count = EXCLUDED.chunk_count, metadata = EXCLUDED.metadata
	RETURNING pm.id INTO page;

	SELECT s.inserted, s.kept, s.deleted INTO chunks_inserted, chunks_kept, chunks_deleted
	  FROM pgkb.swap_chunk_rows(p_url, p_source_id, page, p_chunks, p_chunk_vectors, p_model, p_dim) s;
	SELECT s.inserted, s.deleted INTO codes_inserted, codes_deleted
	  FROM pgkb.swap_code_rows(p_url, p_source_id, p_codes, p_code_vectors, p_model, p_dim) s;

	unembedded := EXISTS (SELECT 1 FROM public.archon_crawled_pages WHERE url = p_url AND embedding_dimension IS NULL)
	           OR EXISTS (SELECT 1 FROM public.archon_code_examples WHERE url = p_url AND embedding_dimension IS NULL);
	IF unembedded THEN
		INSERT INTO pgkb.jobs (kind, payload, dedupe_key)
		VALUES ('embed', jsonb_build_object('document_id', doc.id), 'embed:' || doc.id)
		RETURNING id INTO embed_job_id;
	END IF;
	result := CASE WHEN unembedded THEN 'chunked' ELSE 'ready' END;

	UPDATE pgkb.documents SET
		status = result, content_hash = coalesce(p_doc_hash, content_hash), body = NULL, error = NULL,
		chunk_count = nchunks, code_count = ncodes,
		ready_at = CASE WHEN result = 'ready' THEN now() ELSE ready_at END
	 WHERE id = doc.id;
	-- the source's word count moves by this page's change, folded in later (pgkb.fold_source_word_counts)
	IF old_source IS NOT NULL AND old_source <> p_source_id THEN
		INSERT INTO pgkb.source_word_deltas (source_id, delta)
		VALUES (old_source, -old_words), (p_source_id, p_word_count);
	ELSIF p_word_count <> coalesce(old_words, 0) THEN
		INSERT INTO pgkb.source_word_deltas (source_id, delta)
		VALUES (p_source_id, p_word_count - coalesce(old_words, 0));
	END IF;
	-- title and summary: only while the source has none (the row is not touched once it has them)
	UPDATE public.archon_sources SET
		title = coalesce(title, nullif(p_title, '')),
		summary = coalesce(summary, nullif(p_description, ''))
	 WHERE source_id = p_source_id
	   AND ((title IS NULL AND nullif(p_title, '') IS NOT NULL)
	        OR (summary IS NULL AND nullif(p_description, '') IS NOT NULL));
END;
$$;

-- Records a document that could not be ingested (status 'failed' or 'skipped', with the reason). A document
-- that is now empty loses its old chunks, and its page's word count leaves the source (as a delta); a failed
-- one keeps them (the last good version stays searchable).
-- Ownership (083_sources.sql): a skipped (now empty) document removes the rows of its URL of its own source
-- only, and a source under deletion takes no rows.
CREATE FUNCTION pgkb.ingest_not_possible(p_source_id text, p_url text, p_kind text, p_status text,
                                                    p_error text, p_doc_hash text, p_source_url text)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
	id bigint;
BEGIN
	PERFORM pgkb.source_refuse_deleted(p_source_id);
	IF NOT EXISTS (SELECT 1 FROM public.archon_sources WHERE source_id = p_source_id) THEN
		INSERT INTO public.archon_sources (source_id, source_url, source_display_name)
		VALUES (p_source_id, p_source_url, p_source_url)
		ON CONFLICT (source_id) DO NOTHING;
	END IF;
	INSERT INTO pgkb.documents AS d (source_id, url, kind, status, error, content_hash)
	VALUES (p_source_id, p_url, p_kind, p_status, p_error, p_doc_hash)
	ON CONFLICT (source_id, url) DO UPDATE SET status = EXCLUDED.status, error = EXCLUDED.error,
		content_hash = coalesce(EXCLUDED.content_hash, d.content_hash), body = NULL
	RETURNING d.id INTO id;
	IF p_status = 'skipped' THEN
		DELETE FROM public.archon_crawled_pages WHERE url = p_url AND source_id = p_source_id;
		DELETE FROM public.archon_code_examples WHERE url = p_url AND source_id = p_source_id;
		WITH m AS (DELETE FROM public.archon_page_metadata WHERE url = p_url AND source_id = p_source_id
		           RETURNING source_id, word_count)
		INSERT INTO pgkb.source_word_deltas (source_id, delta)
		SELECT m.source_id, -m.word_count FROM m WHERE m.word_count <> 0;
	END IF;
	RETURN id;
END;
$$;
