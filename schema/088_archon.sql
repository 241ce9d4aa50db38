-- Archon reads a pgkb knowledge base as its own (issue 13): search for Archon's roles, a read-only role,
-- archon_migrations as Archon's setup leaves it, the metadata keys Archon reads, an extractive source summary,
-- adoption of an existing Archon database, and Archon's row-level security on request.

-- 1. Search for any role. The public search functions (012) call helpers in schema pgkb; a role granted only on
-- public (Supabase's anon, authenticated and service_role) failed with "permission denied for schema pgkb",
-- which Archon shows as an empty result. USAGE on the schema for PUBLIC rather than SECURITY DEFINER search
-- functions: every pgkb function runs with its caller's rights (none is SECURITY DEFINER) and no pgkb table or
-- view but the one below is granted to PUBLIC, so USAGE lets a role call the helpers and read nothing more.
-- A SECURITY DEFINER search would read the tables as their owner, past the caller's table grants and
-- row-level security, and the attribute would be lost whenever the search functions are re-created
-- (pgkb.install_search_functions drops and creates them). The administrative functions stay revoked from
-- PUBLIC (012, 060, below).
GRANT USAGE ON SCHEMA pgkb TO PUBLIC;
-- Inserting a source runs pgkb's trigger that refuses sources under deletion (083), which reads this table:
-- without SELECT, Archon's own server (service_role) could not add a source. It lists the ids of sources being
-- deleted, nothing a reader of the knowledge base may not know.
GRANT SELECT ON pgkb.source_deletions TO PUBLIC;

-- 2. A read-only role for RAG applications: USAGE on public and pgkb, SELECT on the knowledge-base tables and on
-- pgkb.crawl_progress, EXECUTE on the search functions and the helpers they call. Nothing writable: any
-- INSERT, UPDATE, DELETE or TRUNCATE an earlier grant gave on those tables is revoked. Run as the owner:
--   CREATE ROLE rag_reader LOGIN PASSWORD '...';
--   SELECT pgkb.grant_reader_role('rag_reader');
CREATE FUNCTION pgkb.grant_reader_role(p_role name) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	t regclass;
	f regprocedure;
BEGIN
	PERFORM quote_ident(p_role)::regrole;  -- raises 'role "x" does not exist'
	EXECUTE format('GRANT USAGE ON SCHEMA public, pgkb TO %I', p_role);
	FOREACH t IN ARRAY ARRAY['public.archon_sources', 'public.archon_page_metadata', 'public.archon_crawled_pages',
	                         'public.archon_code_examples', 'pgkb.crawl_progress']::regclass[] LOOP
		EXECUTE format('REVOKE ALL ON %s FROM %I', t, p_role);
		EXECUTE format('GRANT SELECT ON %s TO %I', t, p_role);
	END LOOP;
	FOR f IN
		SELECT p.oid::regprocedure FROM pg_proc p
		 WHERE (p.pronamespace = 'public'::regnamespace
		        AND (p.proname ~ '^(match|hybrid_search)_archon_(crawled_pages|code_examples)(_multi)?$'
		             OR p.proname IN ('get_embedding_column_name', 'detect_embedding_dimension')))
		    OR (p.pronamespace = 'pgkb'::regnamespace
		        AND p.proname IN ('check_query_embedding', 'vector_topk_sql', 'l2_norm', 'cosine_similarity',
		                          'rrf_candidates', 'embedding_dimensions', 'embedding_backend', 'vector_enabled',
		                          'to_embedding'))
	LOOP
		EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %I', f, p_role);
	END LOOP;
END;
$$;
REVOKE EXECUTE ON FUNCTION pgkb.grant_reader_role(name) FROM PUBLIC;

-- 3. archon_migrations as Archon's own setup leaves it. pgkb's bookkeeping is pgkb.schema_migrations now
-- (lib/pg/migrate.c moved pgkb's rows there before this file ran). Before, pgkb created this table with text
-- columns, a NOT NULL checksum and a duration_ms column, or widened Archon's: Archon's migration service then
-- listed all its 0.1.0 migrations as pending, and recording them failed on the NOT NULL checksum. Archon's
-- columns, indexes and the rows its complete setup inserts; its RLS policies come with
-- pgkb.enable_row_level_security() below.
-- A table pgkb created or widened (it has duration_ms) is made again with Archon's columns in Archon's order,
-- keeping Archon's rows; row-level security on it comes back with the call at the end of this file.
DO $$
BEGIN
	IF EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = 'public'
	            AND table_name = 'archon_migrations' AND column_name = 'duration_ms') THEN
		CREATE TEMP TABLE pgkb_archon_migrations_keep ON COMMIT DROP AS
			SELECT id, version, migration_name, applied_at, checksum FROM public.archon_migrations
			 WHERE version !~ '^[0-9]{3}$';
		DROP TABLE public.archon_migrations;
	END IF;
END $$;
CREATE TABLE IF NOT EXISTS public.archon_migrations (
	id             uuid DEFAULT gen_random_uuid() PRIMARY KEY,
	version        varchar(20) NOT NULL,
	migration_name varchar(255) NOT NULL,
	applied_at     timestamptz DEFAULT now(),
	checksum       varchar(32),
	UNIQUE (version, migration_name)
);
DO $$
BEGIN
	IF to_regclass('pg_temp.pgkb_archon_migrations_keep') IS NOT NULL THEN
		EXECUTE 'INSERT INTO public.archon_migrations (id, version, migration_name, applied_at, checksum)
		         SELECT id, left(version, 20), left(migration_name, 255), applied_at, left(checksum, 32)
		           FROM pg_temp.pgkb_archon_migrations_keep';
	END IF;
END $$;
DELETE FROM public.archon_migrations WHERE version ~ '^[0-9]{3}$';
CREATE INDEX IF NOT EXISTS idx_archon_migrations_version ON public.archon_migrations (version);
CREATE INDEX IF NOT EXISTS idx_archon_migrations_applied_at ON public.archon_migrations (applied_at DESC);
INSERT INTO public.archon_migrations (version, migration_name)
SELECT '0.1.0', m FROM unnest(ARRAY['001_add_source_url_display_name', '002_add_hybrid_search_tsvector',
	'003_ollama_add_columns', '004_ollama_migrate_data', '005_ollama_create_functions',
	'006_ollama_create_indexes_optional', '007_add_priority_column_to_tasks', '008_add_migration_tracking',
	'009_add_cascade_delete_constraints', '010_add_provider_placeholders', '011_add_page_metadata_table']) AS m
ON CONFLICT (version, migration_name) DO NOTHING;

-- 4. Source metadata Archon reads. Archon's UI and filters know knowledge_type 'technical' and 'business'
-- (pgkb wrote 'documentation' for files, which matched neither), and read tags, source_type ('url' or 'file'),
-- update_frequency and original_url. A source inserted without them (an inline text's, or one a worker of an
-- earlier version creates) gets the defaults; keys the writer gives win. update_frequency is not defaulted: a
-- positive value makes pgkb re-crawl the source (060 pgkb.schedule_recrawls).
CREATE FUNCTION pgkb.archon_source_defaults() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	NEW.metadata := jsonb_build_object(
		'knowledge_type', 'technical',
		'tags', '[]'::jsonb,
		'source_type', CASE WHEN NEW.source_url LIKE 'file://%' THEN 'file' ELSE 'url' END)
		|| jsonb_strip_nulls(jsonb_build_object('original_url', NEW.source_url))
		|| CASE WHEN jsonb_typeof(NEW.metadata) = 'object' THEN NEW.metadata ELSE '{}'::jsonb END;
	RETURN NEW;
END;
$$;
CREATE TRIGGER archon_sources_defaults BEFORE INSERT ON public.archon_sources
	FOR EACH ROW EXECUTE FUNCTION pgkb.archon_source_defaults();
-- the file sources of earlier pgkb versions: Archon shows 'documentation' as neither of its types
UPDATE public.archon_sources
   SET metadata = metadata || '{"knowledge_type": "technical"}'
 WHERE metadata ->> 'knowledge_type' = 'documentation' AND metadata ->> 'source_type' = 'file';

-- The source-level keys Archon writes into every chunk's, code example's and page's metadata: source_id,
-- knowledge_type, source_type, crawl_type and tags, from the row's source (its metadata, with the defaults
-- above). crawl_type: the source's, else 'file' for file sources and 'normal' (Archon's word for a recursive
-- crawl) for the others. Chunks also get page_id (Archon's MCP search returns pages by metadata->>'page_id' and
-- fell back to chunks without it), following the column; pages get page_type 'documentation' as Archon's.
-- The row's own keys win over the source's. One row trigger for the three tables, in PL/pgSQL so the source
-- lookup's plan is cached for the session (a SQL function was planned again for every row: twice the cost
-- of the insert); the WHEN clauses, checked in C, keep it off rows that have the keys already (Archon's own
-- writes, the embed worker's updates). Its cost: 10-15% of the time of a 20,000-row chunk INSERT (measured
-- with EXPLAIN ANALYZE).
CREATE FUNCTION pgkb.archon_keys() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	m jsonb;
	stype text;
	extra jsonb := '{}';
BEGIN
	SELECT s.metadata INTO m FROM public.archon_sources s WHERE s.source_id = NEW.source_id;
	stype := coalesce(m ->> 'source_type', CASE WHEN NEW.url LIKE 'file://%' THEN 'file' ELSE 'url' END);
	IF TG_TABLE_NAME = 'archon_crawled_pages' THEN
		IF NEW.page_id IS NOT NULL THEN
			extra := jsonb_build_object('page_id', NEW.page_id);
		END IF;
	ELSIF TG_TABLE_NAME = 'archon_page_metadata' THEN
		NEW.metadata := '{"page_type": "documentation"}'::jsonb
			|| CASE WHEN jsonb_typeof(NEW.metadata) = 'object' THEN NEW.metadata ELSE '{}'::jsonb END;
	END IF;
	NEW.metadata := jsonb_build_object(
		'source_id', NEW.source_id,
		'knowledge_type', coalesce(m ->> 'knowledge_type', 'technical'),
		'source_type', stype,
		'crawl_type', coalesce(m ->> 'crawl_type', CASE WHEN stype = 'file' THEN 'file' ELSE 'normal' END),
		'tags', CASE WHEN jsonb_typeof(m -> 'tags') = 'array' THEN m -> 'tags' ELSE '[]'::jsonb END)
		|| NEW.metadata || extra;
	RETURN NEW;
END;
$$;
CREATE TRIGGER archon_crawled_pages_keys BEFORE INSERT OR UPDATE OF metadata, page_id, source_id
	ON public.archon_crawled_pages FOR EACH ROW
	WHEN (NOT (NEW.metadata ? 'knowledge_type') OR NEW.metadata ->> 'source_id' IS DISTINCT FROM NEW.source_id
	      OR (NEW.page_id IS NOT NULL AND NEW.metadata ->> 'page_id' IS DISTINCT FROM NEW.page_id::text))
	EXECUTE FUNCTION pgkb.archon_keys();
CREATE TRIGGER archon_code_examples_keys BEFORE INSERT OR UPDATE OF metadata, source_id
	ON public.archon_code_examples FOR EACH ROW
	WHEN (NOT (NEW.metadata ? 'knowledge_type') OR NEW.metadata ->> 'source_id' IS DISTINCT FROM NEW.source_id)
	EXECUTE FUNCTION pgkb.archon_keys();
-- pages: beside pgkb's own keys (title, description, code_examples, document_id)
CREATE TRIGGER archon_page_metadata_keys BEFORE INSERT OR UPDATE OF metadata, source_id
	ON public.archon_page_metadata FOR EACH ROW
	WHEN (NOT coalesce(NEW.metadata ? 'knowledge_type', false)
	      OR NEW.metadata ->> 'source_id' IS DISTINCT FROM NEW.source_id)
	EXECUTE FUNCTION pgkb.archon_keys();

-- 5. An extractive summary for archon_sources.summary (Archon writes an LLM's; pgkb has none): the
-- descriptions of 5 of the source's pages, or for a page without one its first paragraph of prose (not a
-- heading, code fence, table, image or HTML line), up to p_max characters. Reads at most 5 pages and the first
-- 4000 characters of each. NULL when there is nothing to say.
CREATE FUNCTION pgkb.first_paragraph(p_text text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT nullif(btrim(regexp_replace(p, '\s+', ' ', 'g')), '')
	  FROM regexp_split_to_table(left(p_text, 4000), '\n\s*\n') WITH ORDINALITY AS t(p, n)
	 WHERE p !~ '^\s*(#|```|~~~|\||!\[|<|[-=*_]{3,}\s*$)' AND length(btrim(p)) >= 20
	 ORDER BY n LIMIT 1
$$;

CREATE FUNCTION pgkb.extractive_summary(p_source text, p_max integer DEFAULT 500) RETURNS text
LANGUAGE sql STABLE AS $$
	SELECT nullif(CASE WHEN length(s) > p_max THEN left(s, p_max - 1) || '…' ELSE s END, '')
	  FROM (SELECT string_agg(piece, ' ' ORDER BY first_n) AS s
	          FROM (SELECT piece, min(n) AS first_n
	                  FROM (SELECT coalesce(nullif(btrim(m.metadata ->> 'description'), ''),
	                                        pgkb.first_paragraph(m.full_content)) AS piece,
	                               row_number() OVER (ORDER BY m.section_order, m.created_at, m.url) AS n
	                          -- any 5 pages, by the source_id index: sorting a source of 100,000 pages
	                          -- to pick its first ones would cost each word-count fold that much
	                          FROM (SELECT * FROM public.archon_page_metadata
	                                 WHERE source_id = p_source LIMIT 5) m) p
	                 WHERE piece IS NOT NULL
	                 GROUP BY piece) d) x
$$;

-- Kept current cheaply: when the source's word count changes (pgkb.fold_source_word_counts, a short
-- transaction of its own a moment after a crawl's or an ingest's pages commit; no lock in the ingest itself),
-- a summary that is missing or was made here (metadata.summary_kind = 'extractive') is made again. A summary
-- that anyone sets (Archon's LLM, an application) drops the mark, so it is kept from then on.
CREATE FUNCTION pgkb.archon_source_summary() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	s text;
BEGIN
	IF NEW.summary IS DISTINCT FROM OLD.summary THEN
		IF NEW.metadata ? 'summary_kind' AND NEW.metadata IS NOT DISTINCT FROM OLD.metadata THEN
			NEW.metadata := NEW.metadata - 'summary_kind';
		END IF;
	ELSIF NEW.summary IS NULL OR NEW.metadata ->> 'summary_kind' = 'extractive' THEN
		s := pgkb.extractive_summary(NEW.source_id);
		IF s IS NOT NULL THEN
			NEW.summary := s;
			NEW.metadata := coalesce(NEW.metadata, '{}'::jsonb) || '{"summary_kind": "extractive"}';
		END IF;
	END IF;
	RETURN NEW;
END;
$$;
CREATE TRIGGER archon_sources_summary BEFORE UPDATE OF total_word_count, summary ON public.archon_sources
	FOR EACH ROW WHEN (NEW.total_word_count IS DISTINCT FROM OLD.total_word_count
	                   OR NEW.summary IS DISTINCT FROM OLD.summary)
	EXECUTE FUNCTION pgkb.archon_source_summary();
UPDATE public.archon_sources s
   SET summary = x.summary, metadata = coalesce(s.metadata, '{}'::jsonb) || '{"summary_kind": "extractive"}'
  FROM (SELECT source_id, pgkb.extractive_summary(source_id) AS summary
          FROM public.archon_sources WHERE summary IS NULL) x
 WHERE s.source_id = x.source_id AND x.summary IS NOT NULL;

-- 6. Adoption of an Archon database: its pages (and the URLs of chunks Archon stored before it kept pages) get
-- a pgkb.documents row, so status, sync and re-crawls know them. 'ready' when every chunk and code example of
-- the URL has an embedding; else 'chunked' with an embed job, as after an ingest. Nothing happens where every
-- page has its document already (every database pgkb filled).
WITH urls AS (
	SELECT source_id, url FROM public.archon_page_metadata
	UNION
	SELECT source_id, url FROM public.archon_crawled_pages
), docs AS (
	INSERT INTO pgkb.documents (source_id, url, kind, status, chunk_count, code_count, ready_at)
	SELECT u.source_id, u.url, CASE WHEN u.url LIKE 'file://%' THEN 'file' ELSE 'page' END,
	       CASE WHEN c.unembedded OR x.unembedded THEN 'chunked' ELSE 'ready' END, c.n, x.n,
	       CASE WHEN NOT (c.unembedded OR x.unembedded) THEN now() END
	  FROM urls u
	  CROSS JOIN LATERAL (SELECT count(*)::integer AS n,
	                             coalesce(bool_or(embedding_dimension IS NULL), false) AS unembedded
	                        FROM public.archon_crawled_pages p WHERE p.url = u.url AND p.source_id = u.source_id) c
	  CROSS JOIN LATERAL (SELECT count(*)::integer AS n,
	                             coalesce(bool_or(embedding_dimension IS NULL), false) AS unembedded
	                        FROM public.archon_code_examples e WHERE e.url = u.url AND e.source_id = u.source_id) x
	 WHERE NOT EXISTS (SELECT 1 FROM pgkb.documents d WHERE d.url = u.url)
	ON CONFLICT (source_id, url) DO NOTHING
	RETURNING id, url, status
), pages AS (
	UPDATE public.archon_page_metadata m
	   SET metadata = coalesce(m.metadata, '{}'::jsonb) || jsonb_build_object('document_id', d.id)
	  FROM docs d WHERE m.url = d.url
)
INSERT INTO pgkb.jobs (kind, payload, dedupe_key)
SELECT 'embed', jsonb_build_object('document_id', d.id), 'embed:' || d.id FROM docs d WHERE d.status = 'chunked';

-- 7. Row-level security as Archon ships it, off by default. SELECT pgkb.enable_row_level_security() (as the
-- tables' owner) turns it on for the knowledge-base tables, archon_settings and archon_migrations:
--   read for every role where Archon allows it (the knowledge-base tables: "Allow public read access to ...";
--   archon_migrations and archon_settings: authenticated), full access for service_role (where the role
--   exists; Supabase's has BYPASSRLS anyway), and writes for pgkb's workers: a role holding UPDATE on
--   pgkb.jobs (what pgkb.grant_worker_role gives) may insert, update and delete rows. The owner bypasses RLS.
-- So with PostgREST or Supabase in front, the anon key reads the knowledge base and writes nothing, while the
-- workers keep writing. Idempotent; migrating a database where Archon's setup enabled RLS already calls it
-- (below), so that pgkb's workers can write there.
CREATE FUNCTION pgkb.is_worker() RETURNS boolean
LANGUAGE sql STABLE AS $$ SELECT has_table_privilege('pgkb.jobs'::regclass, 'UPDATE') $$;

CREATE FUNCTION pgkb.enable_row_level_security() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	t text;
	has_service boolean := EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role');
	has_authenticated boolean := EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated');
BEGIN
	FOREACH t IN ARRAY ARRAY['archon_sources', 'archon_page_metadata', 'archon_crawled_pages',
	                         'archon_code_examples', 'archon_settings', 'archon_migrations'] LOOP
		EXECUTE format('ALTER TABLE public.%I ENABLE ROW LEVEL SECURITY', t);
		IF t NOT IN ('archon_settings', 'archon_migrations') THEN
			EXECUTE format('DROP POLICY IF EXISTS %I ON public.%I', 'Allow public read access to ' || t, t);
			EXECUTE format('CREATE POLICY %I ON public.%I FOR SELECT TO public USING (true)',
			               'Allow public read access to ' || t, t);
			EXECUTE format('DROP POLICY IF EXISTS %I ON public.%I', 'pgkb workers insert ' || t, t);
			EXECUTE format('CREATE POLICY %I ON public.%I FOR INSERT TO public WITH CHECK ((SELECT pgkb.is_worker()))',
			               'pgkb workers insert ' || t, t);
			EXECUTE format('DROP POLICY IF EXISTS %I ON public.%I', 'pgkb workers update ' || t, t);
			EXECUTE format('CREATE POLICY %I ON public.%I FOR UPDATE TO public USING ((SELECT pgkb.is_worker())) '
			               'WITH CHECK ((SELECT pgkb.is_worker()))', 'pgkb workers update ' || t, t);
			EXECUTE format('DROP POLICY IF EXISTS %I ON public.%I', 'pgkb workers delete ' || t, t);
			EXECUTE format('CREATE POLICY %I ON public.%I FOR DELETE TO public USING ((SELECT pgkb.is_worker()))',
			               'pgkb workers delete ' || t, t);
		ELSIF has_authenticated THEN
			EXECUTE format('DROP POLICY IF EXISTS %I ON public.%I', 'Allow authenticated users to read ' || t, t);
			EXECUTE format('CREATE POLICY %I ON public.%I FOR SELECT TO authenticated USING (true)',
			               'Allow authenticated users to read ' || t, t);
		END IF;
		-- pgkb's workers read archon_settings (060 grants SELECT)
		IF t = 'archon_settings' THEN
			EXECUTE format('DROP POLICY IF EXISTS %I ON public.%I', 'pgkb workers read ' || t, t);
			EXECUTE format('CREATE POLICY %I ON public.%I FOR SELECT TO public USING ((SELECT pgkb.is_worker()))',
			               'pgkb workers read ' || t, t);
		END IF;
		IF has_service THEN
			EXECUTE format('DROP POLICY IF EXISTS %I ON public.%I', 'Allow service role full access to ' || t, t);
			EXECUTE format('CREATE POLICY %I ON public.%I FOR ALL TO service_role USING (true) WITH CHECK (true)',
			               'Allow service role full access to ' || t, t);
		END IF;
	END LOOP;
END;
$$;
REVOKE EXECUTE ON FUNCTION pgkb.enable_row_level_security() FROM PUBLIC;

-- Turns it off again (the policies stay, inactive).
CREATE FUNCTION pgkb.disable_row_level_security() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['archon_sources', 'archon_page_metadata', 'archon_crawled_pages',
	                         'archon_code_examples', 'archon_settings', 'archon_migrations'] LOOP
		EXECUTE format('ALTER TABLE public.%I DISABLE ROW LEVEL SECURITY', t);
	END LOOP;
END;
$$;
REVOKE EXECUTE ON FUNCTION pgkb.disable_row_level_security() FROM PUBLIC;

DO $$
BEGIN
	IF EXISTS (SELECT 1 FROM pg_class WHERE relrowsecurity AND oid IN (
	               'public.archon_sources'::regclass, 'public.archon_page_metadata'::regclass,
	               'public.archon_crawled_pages'::regclass, 'public.archon_code_examples'::regclass)) THEN
		PERFORM pgkb.enable_row_level_security();
	END IF;
END $$;
