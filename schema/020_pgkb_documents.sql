-- pgkb's own state: documents (one row per URL or file per source, which is also the crawl frontier), crawls,
-- and per-host politeness shared by every fetch worker on every host.

-- One crawl run of a source. Its progress is never stored as counters: pgkb.crawl_progress groups the
-- documents the crawl claimed (documents.crawl_id) by status.
--   job_id: the crawl job that runs it. A retried job finds its crawl again with
--           INSERT ... ON CONFLICT (job_id) DO UPDATE SET status = 'running', finished_at = NULL RETURNING id
--   finished_at is set exactly when status leaves 'running' (a CHECK holds them together).
--   options: the crawl's options as enqueued (max_depth, max_pages, include/exclude patterns, ...).
--   claimed: the documents a crawl with options.max_pages has claimed (left 0 without it), kept by
--            pgkb.crawl_claim (040) so that max_pages stays exact without a lock per fetch result.
CREATE TABLE pgkb.crawls (
	id          bigserial PRIMARY KEY,
	source_id   text        NOT NULL REFERENCES public.archon_sources (source_id) ON DELETE CASCADE,
	root_url    text        NOT NULL,
	options     jsonb       NOT NULL DEFAULT '{}',
	status      text        NOT NULL DEFAULT 'running',
	job_id      bigint      UNIQUE,
	started_at  timestamptz NOT NULL DEFAULT now(),
	finished_at timestamptz,
	error       text,
	claimed     bigint      NOT NULL DEFAULT 0,
	CONSTRAINT crawls_status CHECK (status IN ('running', 'done', 'failed', 'cancelled')),
	CONSTRAINT crawls_options CHECK (jsonb_typeof(options) = 'object'),
	CONSTRAINT crawls_finished CHECK ((status = 'running') = (finished_at IS NULL))
);
CREATE INDEX crawls_source ON pgkb.crawls (source_id, started_at DESC);
CREATE INDEX crawls_running ON pgkb.crawls (started_at) WHERE status = 'running';

-- One document: a web page, a file (url = file:///absolute/path) or inline text (url = a name the enqueuer
-- chose, unique in its source), per source. Its chunks are the archon_crawled_pages rows with the same url.
-- Archon keys chunks (url, chunk_number) and pages (url) across all sources, so one URL in two sources shares
-- one set of chunks, owned by the source that ingested it last.
--
-- status, in pipeline order:
--   queued    known, to be fetched (a crawl discovered it, or it was enqueued)
--   fetched   body stored, to be ingested
--   chunked   ingested: page metadata, chunks and code examples written; some still lack embeddings
--   embedded  every chunk and code example has an embedding (the embed worker's step before ready)
--   ready     searchable and up to date; ready_at says since when
--   failed    gave up; error says why
--   skipped   not to be fetched: robots.txt, include/exclude patterns, max depth or pages, unsupported type
--   gone      404/410 or vanished from the site on re-crawl; its chunks are deleted
-- A re-fetch that finds the content unchanged (304, or the same content_hash) goes straight back to ready.
--
-- The crawl frontier is this table: discovering a link inserts its row, and a restarted crawl resumes from the
-- rows of its crawl still queued. Claiming URLs for a crawl (a retry claims nothing twice):
--   INSERT INTO pgkb.documents (source_id, url, crawl_id, depth) VALUES ... ON CONFLICT (source_id, url)
--   DO UPDATE SET crawl_id = EXCLUDED.crawl_id, depth = EXCLUDED.depth, status = 'queued'
--   WHERE pgkb.documents.crawl_id IS DISTINCT FROM EXCLUDED.crawl_id RETURNING id, url
-- and enqueue a fetch for exactly the rows returned.
--
-- body: the fetched bytes awaiting ingest, as received (bytea: any charset, NUL bytes, PDF). The ingest
-- worker decodes it (content_type's charset, the page's meta charset) and clears it (body = NULL) in the
-- transaction that writes the chunks: archon_page_metadata.full_content keeps the converted text, and
-- content_hash, etag and last_modified tell whether a later fetch changed anything. To re-ingest with new
-- chunking settings, fetch again without validators.
-- content_hash: hex SHA-256 of the fetched body. etag, last_modified: the response's validators, verbatim, for
-- If-None-Match / If-Modified-Since. fetched_at: the last response (200 or 304). depth: link hops from the
-- crawl's root.
-- final_url: the URL of the last response when the fetch was redirected (NULL when not). redirects: the redirect
-- chain, the URLs that answered with a followed redirect, first the document's own.
CREATE TABLE pgkb.documents (
	id           bigserial PRIMARY KEY,
	source_id    text        NOT NULL REFERENCES public.archon_sources (source_id) ON DELETE CASCADE,
	url          text        NOT NULL,
	kind         text        NOT NULL DEFAULT 'page',
	status       text        NOT NULL DEFAULT 'queued',
	crawl_id     bigint      REFERENCES pgkb.crawls (id) ON DELETE SET NULL,
	depth        integer     NOT NULL DEFAULT 0,
	created_at   timestamptz NOT NULL DEFAULT now(),
	updated_at   timestamptz NOT NULL DEFAULT now(),
	fetched_at   timestamptz,
	ready_at     timestamptz,
	content_hash text,
	body         bytea,
	content_type text,
	http_status  integer,
	etag         text,
	last_modified text,
	chunk_count  integer     NOT NULL DEFAULT 0,
	code_count   integer     NOT NULL DEFAULT 0,
	error        text,
	final_url    text,
	redirects    jsonb,
	CONSTRAINT documents_source_url UNIQUE (source_id, url),
	CONSTRAINT documents_kind CHECK (kind IN ('page', 'file', 'inline')),
	CONSTRAINT documents_status CHECK (status IN ('queued', 'fetched', 'chunked', 'embedded', 'ready',
	                                              'failed', 'skipped', 'gone')),
	CONSTRAINT documents_depth CHECK (depth >= 0),
	CONSTRAINT documents_counts CHECK (chunk_count >= 0 AND code_count >= 0)
);
-- Every index here is updated by each status change, so keep them few.
-- A crawl's progress and frontier.
CREATE INDEX documents_crawl_status ON pgkb.documents (crawl_id, status) WHERE crawl_id IS NOT NULL;
-- the chunk tables join documents by url
CREATE INDEX documents_url ON pgkb.documents (url);
-- A document is looked up by (source_id, url) on every fetch and every offered link. There is deliberately no
-- index on (source_id, status) or source_id alone: a generic plan made while documents is nearly empty prices
-- every index alike and may serve that lookup from such an index (source_id only, then a filter on url),
-- reading every document of the source for each page: a crawl of 1,169 pages read 510,000 index entries that
-- way. The unique (source_id, url) index and documents_url serve the lookup; "documents of a source" is served
-- by the unique index's leading column.
-- Documents that vanished from their site (status gone) are kept for a while (a page that comes back keeps its
-- history) and then deleted by the workers' maintenance timer (pgkb.prune_gone_documents, 060).
CREATE INDEX documents_gone ON pgkb.documents (updated_at) WHERE status = 'gone';
-- Status changes rewrite the row; leave room so most of them stay on the same page.
ALTER TABLE pgkb.documents SET (fillfactor = 90);
-- updated_at: a statement that sets it itself skips the trigger. The trigger is PL/pgSQL, which copies the whole
-- new row to change one column; the fetch's body write (10-100 KB rows before TOAST) sets updated_at in the
-- statement instead. Every other UPDATE gets it from the trigger.
CREATE TRIGGER documents_updated_at BEFORE UPDATE ON pgkb.documents
	FOR EACH ROW WHEN (NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at)
	EXECUTE FUNCTION public.update_updated_at_column();
-- Bodies compress faster with lz4 where the server has it.
DO $$
BEGIN
	ALTER TABLE pgkb.documents ALTER COLUMN body SET COMPRESSION lz4;
EXCEPTION WHEN OTHERS THEN
	NULL;
END $$;

-- Per-crawl progress: counts per status of the documents a crawl claimed.
CREATE VIEW pgkb.crawl_progress AS
SELECT c.id AS crawl_id, c.source_id, c.root_url, c.status, c.started_at, c.finished_at,
       count(d.id) AS documents,
       count(d.id) FILTER (WHERE d.status = 'queued') AS queued,
       count(d.id) FILTER (WHERE d.status = 'fetched') AS fetched,
       count(d.id) FILTER (WHERE d.status = 'chunked') AS chunked,
       count(d.id) FILTER (WHERE d.status = 'embedded') AS embedded,
       count(d.id) FILTER (WHERE d.status = 'ready') AS ready,
       count(d.id) FILTER (WHERE d.status = 'failed') AS failed,
       count(d.id) FILTER (WHERE d.status = 'skipped') AS skipped,
       count(d.id) FILTER (WHERE d.status = 'gone') AS gone
  FROM pgkb.crawls c
  LEFT JOIN pgkb.documents d ON d.crawl_id = c.id
 GROUP BY c.id;

-- Per-host politeness, shared by all fetch workers of all supervisors. One row per host (lower-case host name,
-- ":port" when not the scheme's default), created by the first reservation.
--   next_allowed_at   earliest start of the next request to the host
--   leases            one entry per request in flight: the time its slot expires, which is also its token
--   robots_delay_ms   robots.txt Crawl-delay for pgkb's user agent, when it names one
--
-- Protocol: every step is one short autocommit statement; no transaction spans network I/O, and the database
-- clock is the only clock, so workers on hosts with skewed clocks agree.
--   1. reserve: SELECT * FROM pgkb.host_reserve(host, delay_ms, max_in_flight, lease_ms)
--      Granted when next_allowed_at has passed and fewer than max_in_flight leases are live; then the row gets
--      a new lease (expiring lease_ms from now: make it the request's total timeout plus a margin) and
--      next_allowed_at = now + max(delay_ms, robots_delay_ms). Expired leases are dropped on the way.
--      Refused: granted = false; wait until next_allowed_at when the delay is what refused, or until a lease
--      ends (another reservation's release) when every slot is taken. Either way nothing was written.
--   2. fetch, holding only the token.
--   3. release: SELECT pgkb.host_release(host, token, retry_after_ms)
--      Frees the slot. retry_after_ms > 0 (a 429/503 Retry-After, or a back-off) pushes next_allowed_at out.
-- A worker that dies holding a slot loses it when its lease expires: nothing needs cleaning up.
-- All workers of a host serialize on its row for the length of one UPDATE; fillfactor leaves room for HOT
-- updates (no indexed column changes).
CREATE TABLE pgkb.host_politeness (
	host            text        PRIMARY KEY,
	next_allowed_at timestamptz NOT NULL DEFAULT '-infinity',
	leases          timestamptz[] NOT NULL DEFAULT '{}',
	robots_delay_ms integer,
	updated_at      timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT host_politeness_robots_delay CHECK (robots_delay_ms IS NULL OR robots_delay_ms >= 0)
);
ALTER TABLE pgkb.host_politeness SET (fillfactor = 50);

-- Step 1 of the protocol above. token is NULL unless granted; in_flight counts live leases (including the new
-- one when granted).
CREATE FUNCTION pgkb.host_reserve(p_host text, p_delay_ms integer, p_max_in_flight integer, p_lease_ms integer,
                                  OUT granted boolean, OUT token timestamptz, OUT next_allowed_at timestamptz,
                                  OUT in_flight integer)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
	now_ts timestamptz := clock_timestamp();
	lease_end timestamptz := now_ts + make_interval(secs => p_lease_ms / 1000.0);
BEGIN
	IF coalesce(p_host, '') = '' OR NOT (p_delay_ms >= 0 AND p_max_in_flight >= 1 AND p_lease_ms >= 1) THEN
		RAISE EXCEPTION 'pgkb: host_reserve(%, %, %, %): bad argument', p_host, p_delay_ms, p_max_in_flight, p_lease_ms;
	END IF;
	INSERT INTO pgkb.host_politeness AS h (host, next_allowed_at, leases)
	VALUES (p_host, now_ts + make_interval(secs => p_delay_ms / 1000.0), ARRAY[lease_end])
	ON CONFLICT (host) DO UPDATE
	   SET leases = ARRAY(SELECT l FROM unnest(h.leases) l WHERE l > now_ts)
	                -- the token must be unique among the host's leases
	                || (lease_end + CASE WHEN lease_end = ANY (h.leases) THEN interval '1 microsecond'
	                                     ELSE interval '0' END),
	       next_allowed_at = now_ts + make_interval(secs => greatest(p_delay_ms, coalesce(h.robots_delay_ms, 0)) / 1000.0),
	       updated_at = now_ts
	 WHERE h.next_allowed_at <= now_ts
	   AND (SELECT count(*) FROM unnest(h.leases) l WHERE l > now_ts) < p_max_in_flight
	RETURNING true, h.leases[cardinality(h.leases)], h.next_allowed_at, cardinality(h.leases)
	     INTO granted, token, next_allowed_at, in_flight;
	IF NOT FOUND THEN
		SELECT false, NULL, h.next_allowed_at, (SELECT count(*) FROM unnest(h.leases) l WHERE l > now_ts)
		  INTO granted, token, next_allowed_at, in_flight
		  FROM pgkb.host_politeness h WHERE h.host = p_host;
	END IF;
END;
$$;

-- Step 3 of the protocol above. Returns false when the lease had already expired (its slot may have been
-- given to another request meanwhile: the request ran longer than its lease) or the host has no row.
CREATE FUNCTION pgkb.host_release(p_host text, p_token timestamptz, p_retry_after_ms integer DEFAULT 0)
RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
	now_ts timestamptz := clock_timestamp();
	held boolean;
BEGIN
	UPDATE pgkb.host_politeness h
	   SET leases = array_remove(h.leases, p_token),
	       next_allowed_at = CASE WHEN coalesce(p_retry_after_ms, 0) > 0
	                              THEN greatest(h.next_allowed_at, now_ts + make_interval(secs => p_retry_after_ms / 1000.0))
	                              ELSE h.next_allowed_at END,
	       updated_at = now_ts
	 WHERE h.host = p_host
	RETURNING p_token > now_ts INTO held;
	RETURN coalesce(held, false);
END;
$$;
