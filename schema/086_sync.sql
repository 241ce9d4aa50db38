-- Sync: an ingest or crawl that saw the whole of what it covers retires the documents it no longer found, so
-- deleted files and unlinked pages leave search. A retired document becomes 'gone' with a reason, loses its
-- chunks, code examples and page metadata (of its own source only: another source may own the same URL, 083),
-- and is deleted after the same retention as a page that answered 404 (pgkb.prune_gone_documents, 060).
-- A partial walk or crawl retires nothing: what it did not see may still be there.

-- Retires the documents in p_docs (ids of one source) as gone with p_reason. Returns how many.
CREATE FUNCTION pgkb.retire_documents(p_source text, p_docs bigint[], p_reason text) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
	n integer;
BEGIN
	WITH gone AS (
		UPDATE pgkb.documents d
		   SET status = 'gone', error = p_reason, body = NULL, content_hash = NULL, etag = NULL,
		       last_modified = NULL, chunk_count = 0, code_count = 0, ready_at = NULL
		 WHERE d.id = ANY (p_docs) AND d.source_id = p_source AND d.status <> 'gone'
		RETURNING d.url
	), chunks AS (
		DELETE FROM public.archon_crawled_pages p USING gone g WHERE p.url = g.url AND p.source_id = p_source
	), code AS (
		DELETE FROM public.archon_code_examples e USING gone g WHERE e.url = g.url AND e.source_id = p_source
	), pages AS (
		DELETE FROM public.archon_page_metadata m USING gone g WHERE m.url = g.url AND m.source_id = p_source
	)
	SELECT count(*) INTO n FROM gone;
	RETURN n;
END;
$$;

-- Directory sync, in a directory ingest job's completion transaction: the documents of kind 'file' of source
-- p_source whose URL lies under directory p_dir (file://DIR/ and anything) but is not one of p_paths (a JSON
-- array of the resolved paths the walk listed) are retired with "file no longer exists under DIR". The caller
-- calls it only for a complete walk. A renamed file is its old name retired and its new name ingested.
-- The prefix is compared with left(), not LIKE, so a directory name holding % or _ matches only itself.
-- Returns the number retired.
CREATE FUNCTION pgkb.sync_directory(p_source text, p_dir text, p_paths jsonb) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
	prefix constant text := 'file://' || rtrim(p_dir, '/') || '/';
	ids bigint[];
BEGIN
	-- the walked URLs are hashed once (an anti-join), not scanned once per document: 100,000 of each is common
	WITH walked AS MATERIALIZED (SELECT 'file://' || w.path AS url FROM jsonb_array_elements_text(p_paths) AS w(path))
	SELECT array_agg(d.id) INTO ids
	  FROM pgkb.documents d
	 WHERE d.source_id = p_source AND d.kind = 'file' AND d.status <> 'gone'
	   AND left(d.url, length(prefix)) = prefix
	   AND NOT EXISTS (SELECT 1 FROM walked w WHERE w.url = d.url);
	IF ids IS NULL THEN
		RETURN 0;
	END IF;
	RETURN pgkb.retire_documents(p_source, ids, 'file no longer exists under ' || p_dir);
END;
$$;

-- Crawl sync. A re-crawl reuses its source's document rows: a claim sets documents.crawl_id to the claiming
-- crawl (pgkb.crawl_insert, 040), so the pages this crawl reached (linked, a seed, or in a sitemap) are exactly
-- those whose crawl_id is this crawl's. When a crawl becomes 'done' (pgkb.crawl_settle, crawl_finish_if_done or
-- crawl_sweep: a trigger catches all three) and was complete, the source's other pages, claimed by an earlier
-- crawl, are retired with "not reached by crawl N". Complete means: max_pages not reached (crawls.claimed counts
-- claims when max_pages is set), no discovery bound hit (discovery_stopped NULL), and no page of this crawl
-- 'failed' (a 404/410 makes a page 'gone', not 'failed'; any other fetch error, a timeout, a 500, a refused
-- connection, leaves it 'failed' and may have hidden the links behind it). A crawl of the same source still
-- running makes it retire nothing too: its pages carry a newer crawl_id and that crawl has its own say.
CREATE FUNCTION pgkb.crawl_sync() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	ids bigint[];
BEGIN
	IF jsonb_typeof(NEW.options -> 'max_pages') = 'number' AND NEW.claimed >= (NEW.options ->> 'max_pages')::numeric
	   OR NEW.discovery_stopped IS NOT NULL
	   OR EXISTS (SELECT 1 FROM pgkb.documents d WHERE d.crawl_id = NEW.id AND d.status = 'failed')
	   OR EXISTS (SELECT 1 FROM pgkb.crawls c
	               WHERE c.source_id = NEW.source_id AND c.status = 'running' AND c.id <> NEW.id) THEN
		RETURN NULL;
	END IF;
	SELECT array_agg(d.id) INTO ids
	  FROM pgkb.documents d
	 WHERE d.source_id = NEW.source_id AND d.kind = 'page' AND d.status <> 'gone'
	   AND (d.crawl_id IS NULL OR d.crawl_id < NEW.id);
	IF ids IS NOT NULL THEN
		PERFORM pgkb.retire_documents(NEW.source_id, ids, 'not reached by crawl ' || NEW.id);
	END IF;
	RETURN NULL;
END;
$$;
CREATE TRIGGER crawls_sync AFTER UPDATE OF status ON pgkb.crawls
	FOR EACH ROW WHEN (OLD.status = 'running' AND NEW.status = 'done')
	EXECUTE FUNCTION pgkb.crawl_sync();
