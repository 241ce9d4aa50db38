-- pgkb.crawl_insert looks each offered URL up by the unique (source_id, url), whatever the statistics. Its
-- NOT EXISTS could be planned as an anti-join that reads every document the crawl holds, once per claim: a
-- cached generic plan made while the table was small does exactly that, and a crawl's claims then cost
-- O(documents) each. A scalar subquery stays a per-URL index lookup. Otherwise unchanged (065).
CREATE OR REPLACE FUNCTION pgkb.crawl_insert(c pgkb.crawls, p_urls jsonb, p_depth integer, p_limit bigint) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
	n integer;
BEGIN
	WITH fresh AS (
		SELECT DISTINCT ON (w.url) w.url, w.ord
		  FROM jsonb_array_elements_text(p_urls) WITH ORDINALITY AS w(url, ord)
		 WHERE (SELECT d.crawl_id FROM pgkb.documents d WHERE d.source_id = c.source_id AND d.url = w.url)
		       IS DISTINCT FROM c.id
		 ORDER BY w.url, w.ord
	), claimed AS (
		INSERT INTO pgkb.documents AS d (source_id, url, crawl_id, depth)
		SELECT c.source_id, p.url, c.id, p_depth
		  FROM (SELECT f.url FROM fresh f ORDER BY f.ord LIMIT p_limit) p
		 ORDER BY p.url
		ON CONFLICT (source_id, url) DO UPDATE
		   SET crawl_id = EXCLUDED.crawl_id, depth = EXCLUDED.depth, status = 'queued', error = NULL
		 WHERE d.crawl_id IS DISTINCT FROM EXCLUDED.crawl_id
		RETURNING d.url
	), jobs AS (
		INSERT INTO pgkb.jobs (kind, payload, max_attempts)
		SELECT 'fetch', jsonb_build_object('crawl_id', c.id, 'url', url, 'depth', p_depth), 3 FROM claimed
		RETURNING 1
	)
	SELECT count(*) INTO n FROM jobs;
	RETURN n;
END;
$$;
