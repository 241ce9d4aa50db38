-- The crawl worker's SQL: frontier claims with the max_pages limit, crawl completion, and where a fetched
-- page's redirects are recorded.
--
-- Every fetch and crawl result transaction first locks its crawl row (pgkb.crawl_lock). That serialises the
-- result transactions of one crawl (each is a few statements long), which makes two things exact under READ
-- COMMITTED: the max_pages count in pgkb.crawl_claim, and completion: pgkb.crawl_finish_if_done runs after
-- the lock, so the last fetch to commit sees every other fetch's committed status and marks the crawl done.

-- The URL of the last response when the fetch was redirected (NULL when not), and the redirect chain: the URLs
-- that answered with a followed redirect, first the document's own.
ALTER TABLE pgkb.documents ADD COLUMN final_url text;
ALTER TABLE pgkb.documents ADD COLUMN redirects jsonb;

CREATE FUNCTION pgkb.crawl_lock(p_crawl bigint) RETURNS text
LANGUAGE sql AS $$
	SELECT status FROM pgkb.crawls WHERE id = p_crawl FOR UPDATE
$$;

-- Claims p_urls (a JSON array of canonical URLs) for crawl p_crawl at depth p_depth, as 020's frontier comment
-- describes, and enqueues one fetch job for exactly the rows claimed. URLs this crawl already holds are
-- skipped; with options.max_pages, only as many as leave the crawl at most that many documents, in array
-- order. Returns the number claimed. Call after pgkb.crawl_lock in the same transaction.
CREATE FUNCTION pgkb.crawl_claim(p_crawl bigint, p_urls jsonb, p_depth integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
	c pgkb.crawls;
	room bigint := 9223372036854775807;
	n integer;
BEGIN
	SELECT * INTO c FROM pgkb.crawls WHERE id = p_crawl;
	IF NOT FOUND OR c.status <> 'running' THEN
		RETURN 0;
	END IF;
	IF jsonb_typeof(c.options -> 'max_pages') = 'number' THEN
		room := (c.options ->> 'max_pages')::bigint - (SELECT count(*) FROM pgkb.documents WHERE crawl_id = p_crawl);
	END IF;
	IF room <= 0 THEN
		RETURN 0;
	END IF;
	WITH want AS (
		SELECT u.url, u.ord FROM jsonb_array_elements_text(p_urls) WITH ORDINALITY AS u(url, ord)
	), fresh AS (
		SELECT DISTINCT ON (w.url) w.url, w.ord
		  FROM want w
		 WHERE NOT EXISTS (SELECT 1 FROM pgkb.documents d
		                    WHERE d.source_id = c.source_id AND d.url = w.url AND d.crawl_id = p_crawl)
		 ORDER BY w.url, w.ord
	), pick AS (
		SELECT url FROM fresh ORDER BY ord LIMIT room
	), claimed AS (
		INSERT INTO pgkb.documents AS d (source_id, url, crawl_id, depth)
		SELECT c.source_id, url, p_crawl, p_depth FROM pick
		ON CONFLICT (source_id, url) DO UPDATE
		   SET crawl_id = EXCLUDED.crawl_id, depth = EXCLUDED.depth, status = 'queued', error = NULL
		 WHERE d.crawl_id IS DISTINCT FROM EXCLUDED.crawl_id
		RETURNING d.url
	), jobs AS (
		INSERT INTO pgkb.jobs (kind, payload, max_attempts)
		SELECT 'fetch', jsonb_build_object('crawl_id', p_crawl, 'url', url, 'depth', p_depth), 3 FROM claimed
		RETURNING 1
	)
	SELECT count(*) INTO n FROM jobs;
	RETURN n;
END;
$$;

-- Marks crawl p_crawl done when none of its documents is queued any more. Returns true when it did. Call
-- after pgkb.crawl_lock in the same transaction.
CREATE FUNCTION pgkb.crawl_finish_if_done(p_crawl bigint) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
	UPDATE pgkb.crawls SET status = 'done', finished_at = now()
	 WHERE id = p_crawl AND status = 'running'
	   AND NOT EXISTS (SELECT 1 FROM pgkb.documents WHERE crawl_id = p_crawl AND status = 'queued');
	RETURN FOUND;
END;
$$;
