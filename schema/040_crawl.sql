-- The crawl worker's SQL: frontier claims with the max_pages limit, crawl completion, and the end of a fetch.
--
-- Fetch results do not lock the crawl row: serialising every fetch result transaction of a crawl on its row
-- (pgkb.crawl_lock) made max_pages and completion exact, but capped one crawl at a few hundred pages/s. Both
-- stay exact without it:
--   max_pages: crawls.claimed counts the documents a crawl with max_pages has claimed. Only a claim that
--              brings URLs the crawl does not hold yet locks the row, after its inserts (pgkb.crawl_claim);
--              claims without new URLs, and crawls without max_pages, lock nothing. The fetch worker claims
--              a page's links in a transaction of their own, before the page's result.
--   done:      pgkb.crawl_settle runs at the end of each fetch result transaction. When it sees no queued
--              document and the crawl job has ended, no other fetch of the crawl can be uncommitted (its own
--              document would still look queued), so the crawl is done. When it sees a few queued documents,
--              they may belong to fetches committing at the same moment, each seeing the others as queued;
--              the worker then settles once more after its commit ('recheck'), and whichever of them checks
--              last sees every commit. pgkb.crawl_sweep catches whatever slips through (a fetch job that died
--              outside its handler, more concurrent final commits than the recheck bound).
-- Only the crawl job's own result (its seeds) still locks the crawl row, with pgkb.crawl_lock, and then marks
-- the crawl done if its seeds brought nothing to fetch (pgkb.crawl_finish_if_done).

-- Locks crawl p_crawl for the rest of the transaction; returns its status.
CREATE FUNCTION pgkb.crawl_lock(p_crawl bigint) RETURNS text
LANGUAGE sql AS $$
	SELECT status FROM pgkb.crawls WHERE id = p_crawl FOR UPDATE
$$;

-- Inserts up to p_limit (NULL: all) of p_urls that crawl c does not hold yet, in array order, with one fetch job
-- each; returns how many. Rows are inserted in URL order, so concurrent claims of the same URLs wait for each
-- other instead of deadlocking.
-- Each offered URL is looked up by the unique (source_id, url), whatever the statistics: a NOT EXISTS there could
-- be planned as an anti-join that reads every document the crawl holds, once per claim (a cached generic plan
-- made while the table was small does exactly that, and a crawl's claims then cost O(documents) each). A scalar
-- subquery stays a per-URL index lookup.
CREATE FUNCTION pgkb.crawl_insert(c pgkb.crawls, p_urls jsonb, p_depth integer, p_limit bigint) RETURNS integer
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

-- Claims p_urls (a JSON array of canonical URLs) for crawl p_crawl at depth p_depth, as 020's frontier comment
-- describes, and enqueues one fetch job for exactly the rows claimed. URLs the crawl already holds are skipped;
-- with options.max_pages, only as many as leave the crawl at most that many documents, in array order.
-- Returns the number claimed, or -1 when the crawl takes no more URLs (not running, or max_pages reached).
-- With max_pages the rows are inserted first, without a lock, up to the room the crawl had when the claim
-- started; then the crawl row is locked (FOR NO KEY UPDATE: document inserts' foreign-key checks do not block
-- it) to add them to crawls.claimed, so the lock lasts from there to the commit. When concurrent claims took the
-- room meanwhile, the inserts roll back (a subtransaction) and are redone under the lock, exactly.
CREATE FUNCTION pgkb.crawl_claim(p_crawl bigint, p_urls jsonb, p_depth integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
	c pgkb.crawls;
	lim bigint;
	now_claimed bigint;
	n integer;
BEGIN
	SELECT * INTO c FROM pgkb.crawls WHERE id = p_crawl;
	IF NOT FOUND OR c.status <> 'running' THEN
		RETURN -1;
	END IF;
	IF jsonb_typeof(c.options -> 'max_pages') <> 'number' THEN
		RETURN pgkb.crawl_insert(c, p_urls, p_depth, NULL);
	END IF;
	lim := (c.options ->> 'max_pages')::bigint;
	IF c.claimed >= lim THEN
		RETURN -1;
	END IF;
	BEGIN
		n := pgkb.crawl_insert(c, p_urls, p_depth, lim - c.claimed);
		IF n = 0 THEN
			RETURN 0;
		END IF;
		SELECT x.claimed INTO now_claimed FROM pgkb.crawls x WHERE x.id = p_crawl FOR NO KEY UPDATE;
		IF now_claimed + n > lim THEN
			RAISE EXCEPTION USING ERRCODE = 'KB002', MESSAGE = 'pgkb: crawl room taken meanwhile';
		END IF;
	EXCEPTION WHEN SQLSTATE 'KB002' THEN
		SELECT x.claimed INTO now_claimed FROM pgkb.crawls x WHERE x.id = p_crawl FOR NO KEY UPDATE;
		IF now_claimed >= lim THEN
			RETURN -1;
		END IF;
		n := pgkb.crawl_insert(c, p_urls, p_depth, lim - now_claimed);
	END;
	UPDATE pgkb.crawls SET claimed = claimed + n WHERE id = p_crawl;
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

-- The end of a fetch result transaction (see the top of this file). Returns
--   'done'     the crawl is not running any more (this call may have just marked it done)
--   'recheck'  a few documents are still queued: call again after this transaction commits
--   'running'  many are queued
CREATE FUNCTION pgkb.crawl_settle(p_crawl bigint) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	c pgkb.crawls;
	queued integer;
BEGIN
	SELECT * INTO c FROM pgkb.crawls WHERE id = p_crawl;
	IF NOT FOUND OR c.status <> 'running' THEN
		RETURN 'done';
	END IF;
	SELECT count(*) INTO queued
	  FROM (SELECT 1 FROM pgkb.documents WHERE crawl_id = p_crawl AND status = 'queued' LIMIT 65) q;
	IF queued > 0 THEN
		RETURN CASE WHEN queued <= 64 THEN 'recheck' ELSE 'running' END;
	END IF;
	-- the crawl job may still be claiming its seeds (uncommitted, so invisible here); it settles itself
	IF EXISTS (SELECT 1 FROM pgkb.jobs WHERE id = c.job_id AND state IN ('queued', 'running')) THEN
		RETURN 'running';
	END IF;
	UPDATE pgkb.crawls SET status = 'done', finished_at = now() WHERE id = p_crawl AND status = 'running';
	RETURN 'done';
END;
$$;

-- Settles every running crawl whose job has ended and that has no queued document: done, or failed with the
-- crawl job's error when that job died. Crawl workers call it now and then; returns how many it ended.
CREATE FUNCTION pgkb.crawl_sweep() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
	n integer;
BEGIN
	WITH ended AS (
		SELECT c.id, j.state AS job_state, j.last_error
		  FROM pgkb.crawls c
		  LEFT JOIN pgkb.jobs j ON j.id = c.job_id
		 WHERE c.status = 'running'
		   AND (j.id IS NULL OR j.state = 'dead')
		   AND NOT EXISTS (SELECT 1 FROM pgkb.documents d WHERE d.crawl_id = c.id AND d.status = 'queued')
		   FOR UPDATE OF c SKIP LOCKED
	)
	UPDATE pgkb.crawls c
	   SET status = CASE WHEN e.job_state = 'dead' THEN 'failed' ELSE 'done' END,
	       error = CASE WHEN e.job_state = 'dead' THEN 'crawl job died: ' || coalesce(e.last_error, '?') END,
	       finished_at = now()
	  FROM ended e
	 WHERE c.id = e.id AND c.status = 'running';
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END;
$$;

-- A fetch job that dies outside its handler (its worker crashed on every attempt, or its result could not be
-- written) fails its document instead of leaving it queued, which would keep the crawl running forever.
CREATE FUNCTION pgkb.fetch_job_died() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	crawl bigint;
BEGIN
	-- a malformed payload (the job died of it) must not make this trigger fail the statement that buries it
	IF NEW.payload ->> 'crawl_id' ~ '^[0-9]{1,18}$' AND jsonb_typeof(NEW.payload -> 'url') = 'string' THEN
		crawl := (NEW.payload ->> 'crawl_id')::bigint;
		UPDATE pgkb.documents
		   SET status = 'failed', error = 'fetch job ' || NEW.id || ' died: ' || coalesce(NEW.last_error, '?')
		 WHERE crawl_id = crawl AND url = NEW.payload ->> 'url' AND status = 'queued';
		IF FOUND THEN
			PERFORM pgkb.crawl_settle(crawl);
		END IF;
	END IF;
	RETURN NULL;
END;
$$;
CREATE TRIGGER jobs_fetch_died AFTER UPDATE OF state ON pgkb.jobs
	FOR EACH ROW WHEN (NEW.state = 'dead' AND OLD.state <> 'dead' AND NEW.kind = 'fetch')
	EXECUTE FUNCTION pgkb.fetch_job_died();
