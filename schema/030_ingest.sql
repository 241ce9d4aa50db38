-- Ingest: write one converted document (page metadata, chunks, code examples) in one call, keeping the rows
-- (and embeddings) of chunks whose content hash is unchanged, and enqueue the embed job for what is new.
-- The ingest worker calls these inside its fenced completion transaction, so a worker whose lease was lost
-- writes nothing, and a retried job finds its earlier result and changes nothing.

-- Chunk or code-example rows of one document as the worker sends them: a JSON array of
-- {"n": chunk_number, "hash": content_hash, "content": text, "metadata": {...}, "summary": text (code only)}.
CREATE FUNCTION pgkb.ingest_rows(p jsonb)
RETURNS TABLE (n integer, hash text, content text, metadata jsonb, summary text)
LANGUAGE sql IMMUTABLE AS $$
	SELECT r.n, r.hash, r.content, coalesce(r.metadata, '{}'), coalesce(r.summary, '')
	  FROM jsonb_to_recordset(coalesce(p, '[]')) AS r(n integer, hash text, content text, metadata jsonb, summary text)
$$;

-- Swaps the chunk set of url in archon_crawled_pages (p_code false) or archon_code_examples (p_code true):
-- rows whose hash is in the new set stay (renumbered and their metadata refreshed if needed), vanished rows
-- are deleted, new rows are inserted. Identical chunks are matched one to one in order.
CREATE FUNCTION pgkb.swap_rows(p_code boolean, p_url text, p_source_id text, p_page_id uuid, p_rows jsonb,
                               OUT inserted integer, OUT kept integer, OUT deleted integer)
LANGUAGE plpgsql AS $$
DECLARE
	tbl regclass := CASE WHEN p_code THEN 'public.archon_code_examples' ELSE 'public.archon_crawled_pages' END;
	kept_ids bigint[];
	kept_ns integer[];
	extra text := CASE WHEN p_code THEN ', summary' ELSE ', page_id' END;
	extra_val text := CASE WHEN p_code THEN ', r.summary' ELSE ', $4' END;
BEGIN
	-- match old rows to new chunks by hash (the k-th copy of a hash to the k-th copy)
	EXECUTE format(
		'SELECT coalesce(array_agg(o.id), ''{}''), coalesce(array_agg(r.n), ''{}'')
		   FROM (SELECT id, content_hash, row_number() OVER (PARTITION BY content_hash ORDER BY chunk_number) AS k
		           FROM %s WHERE url = $1) o
		   JOIN (SELECT r.n, r.hash, row_number() OVER (PARTITION BY r.hash ORDER BY r.n) AS k
		           FROM pgkb.ingest_rows($2) r) r ON r.hash = o.content_hash AND r.k = o.k', tbl)
		INTO kept_ids, kept_ns USING p_url, p_rows;
	kept := cardinality(kept_ids);

	EXECUTE format('DELETE FROM %s WHERE url = $1 AND NOT (id = ANY ($2))', tbl) USING p_url, kept_ids;
	GET DIAGNOSTICS deleted = ROW_COUNT;

	-- renumber kept rows whose position moved: through negative numbers, as UNIQUE (url, chunk_number) is
	-- checked row by row
	EXECUTE format(
		'UPDATE %s t SET chunk_number = -1 - m.n FROM unnest($1::bigint[], $2::integer[]) AS m(id, n)
		  WHERE t.id = m.id AND t.chunk_number <> m.n', tbl) USING kept_ids, kept_ns;
	EXECUTE format('UPDATE %s SET chunk_number = -1 - chunk_number WHERE url = $1 AND chunk_number < 0', tbl)
		USING p_url;
	-- refresh metadata (heading path, position) of kept rows where it changed; content and embedding stay
	EXECUTE format(
		'UPDATE %s t SET metadata = r.metadata, source_id = $3 %s
		   FROM pgkb.ingest_rows($1) r
		  WHERE t.url = $2 AND t.chunk_number = r.n AND t.id = ANY ($5)
		    AND (t.metadata IS DISTINCT FROM r.metadata OR t.source_id IS DISTINCT FROM $3 %s)',
		tbl, CASE WHEN p_code THEN '' ELSE ', page_id = $4' END,
		CASE WHEN p_code THEN '' ELSE 'OR t.page_id IS DISTINCT FROM $4' END)
		USING p_rows, p_url, p_source_id, p_page_id, kept_ids;

	EXECUTE format(
		'INSERT INTO %s (url, chunk_number, content, metadata, source_id, content_hash %s)
		 SELECT $2, r.n, r.content, r.metadata, $3, r.hash %s
		   FROM pgkb.ingest_rows($1) r WHERE NOT (r.n = ANY ($5))', tbl, extra, extra_val)
		USING p_rows, p_url, p_source_id, p_page_id, kept_ns;
	GET DIAGNOSTICS inserted = ROW_COUNT;
END;
$$;

-- Writes a converted document. p_doc_hash (may be NULL) identifies the input and the settings it was
-- converted with: when the document already has that hash and was ingested, nothing at all is written and
-- result is 'unchanged'. Otherwise result is 'chunked' (an embed job was enqueued for new rows) or 'ready'
-- (every row already had its embedding).
CREATE FUNCTION pgkb.ingest_document(
	p_source_id text, p_url text, p_kind text, p_doc_hash text,
	p_title text, p_description text, p_full_content text, p_word_count integer, p_char_count integer,
	p_chunks jsonb, p_codes jsonb, p_source_url text,
	OUT result text, OUT document_id bigint, OUT chunks_inserted integer, OUT chunks_kept integer,
	OUT chunks_deleted integer, OUT codes_inserted integer, OUT codes_deleted integer, OUT embed_job_id bigint)
LANGUAGE plpgsql AS $$
DECLARE
	doc record;
	page uuid;
	old_words integer := 0;
	unembedded boolean;
BEGIN
	INSERT INTO public.archon_sources (source_id, source_url, source_display_name)
	VALUES (p_source_id, p_source_url, p_source_url)
	ON CONFLICT (source_id) DO NOTHING;
	INSERT INTO pgkb.documents (source_id, url, kind, status)
	VALUES (p_source_id, p_url, p_kind, 'fetched')
	ON CONFLICT (source_id, url) DO NOTHING;
	-- concurrent ingests of one document serialise on its row
	SELECT d.id, d.status, d.content_hash INTO doc
	  FROM pgkb.documents d WHERE d.source_id = p_source_id AND d.url = p_url FOR NO KEY UPDATE;
	document_id := doc.id;
	IF p_doc_hash IS NOT NULL AND doc.content_hash = p_doc_hash AND doc.status IN ('chunked', 'embedded', 'ready') THEN
		result := 'unchanged';
		RETURN;
	END IF;

	SELECT word_count INTO old_words FROM public.archon_page_metadata WHERE url = p_url;
	INSERT INTO public.archon_page_metadata AS pm
		(source_id, url, full_content, section_title, word_count, char_count, chunk_count, metadata)
	VALUES (p_source_id, p_url, p_full_content, nullif(p_title, ''), p_word_count, p_char_count,
	        jsonb_array_length(p_chunks),
	        jsonb_build_object('title', p_title, 'description', p_description,
	                           'code_examples', jsonb_array_length(p_codes), 'document_id', doc.id))
	ON CONFLICT (url) DO UPDATE SET
		source_id = EXCLUDED.source_id, full_content = EXCLUDED.full_content,
		section_title = EXCLUDED.section_title, word_count = EXCLUDED.word_count,
		char_count = EXCLUDED.char_count, chunk_count = EXCLUDED.chunk_count, metadata = EXCLUDED.metadata
	RETURNING pm.id INTO page;

	SELECT s.inserted, s.kept, s.deleted INTO chunks_inserted, chunks_kept, chunks_deleted
	  FROM pgkb.swap_rows(false, p_url, p_source_id, page, p_chunks) s;
	SELECT s.inserted, s.deleted INTO codes_inserted, codes_deleted
	  FROM pgkb.swap_rows(true, p_url, p_source_id, NULL, p_codes) s;

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
		chunk_count = jsonb_array_length(p_chunks), code_count = jsonb_array_length(p_codes),
		ready_at = CASE WHEN result = 'ready' THEN now() ELSE ready_at END
	 WHERE id = doc.id;
	-- the source's summary: its word count moves by this page's change (no recount of every page)
	UPDATE public.archon_sources SET
		total_word_count = coalesce(total_word_count, 0) + p_word_count - coalesce(old_words, 0),
		title = coalesce(title, nullif(p_title, '')),
		summary = coalesce(summary, nullif(p_description, ''))
	 WHERE source_id = p_source_id;
END;
$$;

-- Records a document that could not be ingested (status 'failed' or 'skipped', with the reason). A document
-- that is now empty loses its old chunks; a failed one keeps them (the last good version stays searchable).
CREATE FUNCTION pgkb.ingest_not_possible(p_source_id text, p_url text, p_kind text, p_status text, p_error text,
                                         p_doc_hash text, p_source_url text)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
	id bigint;
BEGIN
	INSERT INTO public.archon_sources (source_id, source_url, source_display_name)
	VALUES (p_source_id, p_source_url, p_source_url)
	ON CONFLICT (source_id) DO NOTHING;
	INSERT INTO pgkb.documents AS d (source_id, url, kind, status, error, content_hash)
	VALUES (p_source_id, p_url, p_kind, p_status, p_error, p_doc_hash)
	ON CONFLICT (source_id, url) DO UPDATE SET status = EXCLUDED.status, error = EXCLUDED.error,
		content_hash = coalesce(EXCLUDED.content_hash, d.content_hash), body = NULL
	RETURNING d.id INTO id;
	IF p_status = 'skipped' THEN
		DELETE FROM public.archon_crawled_pages WHERE url = p_url;
		DELETE FROM public.archon_code_examples WHERE url = p_url;
		DELETE FROM public.archon_page_metadata WHERE url = p_url;
	END IF;
	RETURN id;
END;
$$;
