-- Archon-compatible knowledge base: settings, sources, page metadata, chunks and code examples.
--
-- Table, column, type, constraint and index names follow Archon v1 (its complete_setup.sql plus the 0.1.0
-- migrations: page metadata, multi-dimension embeddings, hybrid-search tsvectors) so an Archon deployment, or any
-- RAG application written against Archon's tables, can read a pgkb database. pgkb's additions are marked "pgkb:".
--
-- Embedding columns (embedding_384/768/1024/1536/3072) come in one of two variants, chosen here:
--   pgvector: where CREATE EXTENSION vector succeeds (or it is already installed): vector(n) columns with HNSW
--             cosine indexes (3072: a halfvec expression index, pgvector's HNSW limit being 2000 dimensions).
--   array:    otherwise: real[] columns with a CHECK on their length; the search functions (012) scan exactly.
-- The tables are created with real[] columns; the pgvector variant converts them (pgkb.embedding_columns_to_vector).
-- SELECT pgkb.embedding_backend() says which variant a database has ('pgvector' or 'array').
-- Force a variant with the setting pgkb.embedding_backend = auto | pgvector | array for the migrating session
-- (PGOPTIONS='-c pgkb.embedding_backend=array', or ALTER DATABASE ... SET); pgvector makes a failure fatal.
--
-- Left out from Archon on purpose: Supabase row-level-security policies (they name Supabase's auth.role(),
-- service_role and authenticated roles; RLS stays off), the pgcrypto extension (gen_random_uuid() is built in
-- since PostgreSQL 13), Archon's seed rows (UI settings and agent prompts) and ivfflat indexes (built on an empty
-- table they cluster nothing; HNSW needs no training data).
--
-- Every CREATE here is IF NOT EXISTS, so migrating a database where Archon's own setup already ran adds pgkb's
-- columns and indexes and keeps Archon's.

CREATE SCHEMA IF NOT EXISTS pgkb;  -- 001 creates it; kept so this file also stands alone
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Try pgvector unless the array variant is forced. Only the attempt happens here; the columns follow below.
DO $$
DECLARE
	want text := lower(coalesce(nullif(current_setting('pgkb.embedding_backend', true), ''), 'auto'));
BEGIN
	IF want NOT IN ('auto', 'pgvector', 'array') THEN
		RAISE EXCEPTION 'pgkb: pgkb.embedding_backend must be auto, pgvector or array, not "%"', want;
	END IF;
	IF want <> 'array' AND NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector') THEN
		BEGIN
			CREATE EXTENSION IF NOT EXISTS vector;
		EXCEPTION WHEN OTHERS THEN
			IF want = 'pgvector' THEN
				RAISE;
			END IF;
			RAISE NOTICE 'pgkb: pgvector is not available (%); embeddings are stored as real[] and searched exactly', SQLERRM
				USING HINT = 'to switch later: install pgvector, then SELECT pgkb.enable_pgvector() as a superuser';
		END;
	END IF;
END $$;

-- Shared by Archon's tables: keeps updated_at current on UPDATE.
CREATE OR REPLACE FUNCTION public.update_updated_at_column() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	NEW.updated_at = now();
	RETURN NEW;
END;
$$;

-- Settings (Archon's configuration store; pgkb reads nothing from it).
CREATE TABLE IF NOT EXISTS public.archon_settings (
	id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	key             varchar(255) NOT NULL UNIQUE,
	value           text,
	encrypted_value text,
	is_encrypted    boolean DEFAULT false,
	category        varchar(100),
	description     text,
	created_at      timestamptz DEFAULT now(),
	updated_at      timestamptz DEFAULT now()
);
CREATE INDEX IF NOT EXISTS idx_archon_settings_key ON public.archon_settings (key);
CREATE INDEX IF NOT EXISTS idx_archon_settings_category ON public.archon_settings (category);
CREATE OR REPLACE TRIGGER update_archon_settings_updated_at BEFORE UPDATE ON public.archon_settings
	FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();

-- Sources: one per crawled site, uploaded file set or inline collection. Archon derives source_id from the URL
-- (a 16-hex-character SHA-256 prefix); any stable text key works.
-- Timestamps default to now() (Archon writes timezone('utc', now()), which is the same instant only when the
-- session time zone is UTC).
CREATE TABLE IF NOT EXISTS public.archon_sources (
	source_id           text PRIMARY KEY,
	source_url          text,
	source_display_name text,
	summary             text,
	total_word_count    integer DEFAULT 0,
	title               text,
	metadata            jsonb DEFAULT '{}'::jsonb,
	created_at          timestamptz NOT NULL DEFAULT now(),
	updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS idx_archon_sources_title ON public.archon_sources (title);
CREATE INDEX IF NOT EXISTS idx_archon_sources_url ON public.archon_sources (source_url);
CREATE INDEX IF NOT EXISTS idx_archon_sources_display_name ON public.archon_sources (source_display_name);
CREATE INDEX IF NOT EXISTS idx_archon_sources_metadata ON public.archon_sources USING gin (metadata);
CREATE INDEX IF NOT EXISTS idx_archon_sources_knowledge_type ON public.archon_sources ((metadata->>'knowledge_type'));
-- pgkb: Archon sets updated_at itself; pgkb's workers get it kept by a trigger.
CREATE OR REPLACE TRIGGER update_archon_sources_updated_at BEFORE UPDATE ON public.archon_sources
	FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();

-- Pages: the whole converted text of one page (or one llms-full.txt section, with a #anchor URL).
-- url is unique across all sources, as in Archon.
CREATE TABLE IF NOT EXISTS public.archon_page_metadata (
	id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	source_id     text NOT NULL,
	url           text NOT NULL,
	full_content  text NOT NULL,
	section_title text,
	section_order integer DEFAULT 0,
	word_count    integer NOT NULL,
	char_count    integer NOT NULL,
	chunk_count   integer NOT NULL DEFAULT 0,
	created_at    timestamptz DEFAULT now(),
	updated_at    timestamptz DEFAULT now(),
	metadata      jsonb DEFAULT '{}'::jsonb,
	CONSTRAINT archon_page_metadata_url_unique UNIQUE (url),
	CONSTRAINT archon_page_metadata_source_fk FOREIGN KEY (source_id)
		REFERENCES public.archon_sources (source_id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS idx_archon_page_metadata_source_id ON public.archon_page_metadata (source_id);
CREATE INDEX IF NOT EXISTS idx_archon_page_metadata_url ON public.archon_page_metadata (url);
CREATE INDEX IF NOT EXISTS idx_archon_page_metadata_section
	ON public.archon_page_metadata (source_id, section_title, section_order);
CREATE INDEX IF NOT EXISTS idx_archon_page_metadata_created_at ON public.archon_page_metadata (created_at);
CREATE INDEX IF NOT EXISTS idx_archon_page_metadata_metadata ON public.archon_page_metadata USING gin (metadata);
-- pgkb: keep updated_at current on re-ingest.
CREATE OR REPLACE TRIGGER update_archon_page_metadata_updated_at BEFORE UPDATE ON public.archon_page_metadata
	FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();

-- Chunks. An embedding goes to the column of its dimension; embedding_dimension and embedding_model say which.
CREATE TABLE IF NOT EXISTS public.archon_crawled_pages (
	id                    bigserial PRIMARY KEY,
	url                   varchar NOT NULL,
	chunk_number          integer NOT NULL,
	content               text NOT NULL,
	metadata              jsonb NOT NULL DEFAULT '{}'::jsonb,
	source_id             text NOT NULL,
	embedding_384         real[],
	embedding_768         real[],
	embedding_1024        real[],
	embedding_1536        real[],
	embedding_3072        real[],
	llm_chat_model        text,
	embedding_model       text,
	embedding_dimension   integer,
	content_search_vector tsvector GENERATED ALWAYS AS (to_tsvector('english', content)) STORED,
	created_at            timestamptz NOT NULL DEFAULT now(),
	page_id               uuid REFERENCES public.archon_page_metadata (id) ON DELETE SET NULL,
	UNIQUE (url, chunk_number),
	FOREIGN KEY (source_id) REFERENCES public.archon_sources (source_id) ON DELETE CASCADE
);
-- pgkb: hash of content; re-ingest keeps the row (and its embedding) of a chunk whose hash is unchanged.
ALTER TABLE public.archon_crawled_pages ADD COLUMN IF NOT EXISTS content_hash text;
CREATE INDEX IF NOT EXISTS idx_archon_crawled_pages_metadata ON public.archon_crawled_pages USING gin (metadata);
CREATE INDEX IF NOT EXISTS idx_archon_crawled_pages_source_id ON public.archon_crawled_pages (source_id);
CREATE INDEX IF NOT EXISTS idx_archon_crawled_pages_content_search
	ON public.archon_crawled_pages USING gin (content_search_vector);
CREATE INDEX IF NOT EXISTS idx_archon_crawled_pages_content_trgm
	ON public.archon_crawled_pages USING gin (content gin_trgm_ops);
CREATE INDEX IF NOT EXISTS idx_archon_crawled_pages_embedding_model ON public.archon_crawled_pages (embedding_model);
CREATE INDEX IF NOT EXISTS idx_archon_crawled_pages_embedding_dimension
	ON public.archon_crawled_pages (embedding_dimension);
CREATE INDEX IF NOT EXISTS idx_archon_crawled_pages_llm_chat_model ON public.archon_crawled_pages (llm_chat_model);
CREATE INDEX IF NOT EXISTS idx_archon_crawled_pages_page_id ON public.archon_crawled_pages (page_id);
-- pgkb: the embedding backlog (chunks not embedded yet), small because embedded rows leave it.
CREATE INDEX IF NOT EXISTS idx_archon_crawled_pages_unembedded
	ON public.archon_crawled_pages (source_id) WHERE embedding_dimension IS NULL;

-- Code examples: code blocks taken from pages, with a summary (NOT NULL in Archon: write '' when there is none).
CREATE TABLE IF NOT EXISTS public.archon_code_examples (
	id                    bigserial PRIMARY KEY,
	url                   varchar NOT NULL,
	chunk_number          integer NOT NULL,
	content               text NOT NULL,
	summary               text NOT NULL,
	metadata              jsonb NOT NULL DEFAULT '{}'::jsonb,
	source_id             text NOT NULL,
	embedding_384         real[],
	embedding_768         real[],
	embedding_1024        real[],
	embedding_1536        real[],
	embedding_3072        real[],
	llm_chat_model        text,
	embedding_model       text,
	embedding_dimension   integer,
	content_search_vector tsvector
		GENERATED ALWAYS AS (to_tsvector('english', content || ' ' || coalesce(summary, ''))) STORED,
	created_at            timestamptz NOT NULL DEFAULT now(),
	UNIQUE (url, chunk_number),
	FOREIGN KEY (source_id) REFERENCES public.archon_sources (source_id) ON DELETE CASCADE
);
-- pgkb: as for chunks.
ALTER TABLE public.archon_code_examples ADD COLUMN IF NOT EXISTS content_hash text;
CREATE INDEX IF NOT EXISTS idx_archon_code_examples_metadata ON public.archon_code_examples USING gin (metadata);
CREATE INDEX IF NOT EXISTS idx_archon_code_examples_source_id ON public.archon_code_examples (source_id);
CREATE INDEX IF NOT EXISTS idx_archon_code_examples_content_search
	ON public.archon_code_examples USING gin (content_search_vector);
CREATE INDEX IF NOT EXISTS idx_archon_code_examples_content_trgm
	ON public.archon_code_examples USING gin (content gin_trgm_ops);
CREATE INDEX IF NOT EXISTS idx_archon_code_examples_summary_trgm
	ON public.archon_code_examples USING gin (summary gin_trgm_ops);
CREATE INDEX IF NOT EXISTS idx_archon_code_examples_embedding_model ON public.archon_code_examples (embedding_model);
CREATE INDEX IF NOT EXISTS idx_archon_code_examples_embedding_dimension
	ON public.archon_code_examples (embedding_dimension);
CREATE INDEX IF NOT EXISTS idx_archon_code_examples_llm_chat_model ON public.archon_code_examples (llm_chat_model);
-- pgkb: the embedding backlog of code examples.
CREATE INDEX IF NOT EXISTS idx_archon_code_examples_unembedded
	ON public.archon_code_examples (source_id) WHERE embedding_dimension IS NULL;

-- Which variant this database has: 'pgvector' when the embedding columns are vector(n), else 'array' (real[]).
-- Read from the catalog, so it cannot disagree with the columns.
CREATE OR REPLACE FUNCTION pgkb.embedding_backend() RETURNS text
LANGUAGE sql STABLE AS $$
	SELECT CASE WHEN t.typname = 'vector' THEN 'pgvector' ELSE 'array' END
	  FROM pg_catalog.pg_attribute a
	  JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
	 WHERE a.attrelid = 'public.archon_crawled_pages'::regclass
	   AND a.attname = 'embedding_384' AND NOT a.attisdropped
$$;
CREATE OR REPLACE FUNCTION pgkb.vector_enabled() RETURNS boolean
LANGUAGE sql STABLE AS $$ SELECT pgkb.embedding_backend() = 'pgvector' $$;

-- The embedding dimensions that have a column.
CREATE OR REPLACE FUNCTION pgkb.embedding_dimensions() RETURNS integer[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT ARRAY[384, 768, 1024, 1536, 3072] $$;

-- Array variant: each real[] embedding column holds one-dimensional arrays of exactly its length, no NULLs.
-- Also moves them out of line uncompressed (floats do not compress; vector's own storage is the same).
DO $$
DECLARE
	tbl text;
	d integer;
	col text;
BEGIN
	FOREACH tbl IN ARRAY ARRAY['archon_crawled_pages', 'archon_code_examples'] LOOP
		FOREACH d IN ARRAY pgkb.embedding_dimensions() LOOP
			col := 'embedding_' || d;
			IF (SELECT atttypid FROM pg_attribute
			     WHERE attrelid = format('public.%I', tbl)::regclass AND attname = col) = 'real[]'::regtype
			   AND NOT EXISTS (SELECT 1 FROM pg_constraint
			                    WHERE conrelid = format('public.%I', tbl)::regclass AND conname = tbl || '_' || col || '_dims') THEN
				EXECUTE format('ALTER TABLE public.%I ADD CONSTRAINT %I CHECK (%I IS NULL OR (array_ndims(%I) = 1 AND '
				               'cardinality(%I) = %s AND array_position(%I, NULL) IS NULL))',
				               tbl, tbl || '_' || col || '_dims', col, col, col, d, col);
				EXECUTE format('ALTER TABLE public.%I ALTER COLUMN %I SET STORAGE EXTERNAL', tbl, col);
			END IF;
		END LOOP;
	END LOOP;
END $$;

-- pgvector variant: turns the real[] embedding columns of both tables into vector(n) (rewriting any rows), builds
-- HNSW cosine indexes and drops ivfflat ones; idempotent. 3072 dimensions exceed HNSW's limit of 2000 for vector,
-- so that column is indexed through its halfvec cast (pgvector 0.7+; with an older pgvector it gets no index and
-- its searches scan exactly). Called below when pgvector is there, and by pgkb.enable_pgvector() (012) after a
-- later install.
CREATE OR REPLACE FUNCTION pgkb.embedding_columns_to_vector() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	ext text;
	has_halfvec boolean;
	tbl text;
	d integer;
	col text;
	alter_cols text[];
	idx regclass;
BEGIN
	SELECT n.nspname INTO ext
	  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
	 WHERE e.extname = 'vector';
	IF ext IS NULL THEN
		RAISE EXCEPTION 'pgkb: the vector extension is not installed';
	END IF;
	has_halfvec := EXISTS (SELECT 1 FROM pg_type WHERE typname = 'halfvec' AND typnamespace = ext::regnamespace);
	FOREACH tbl IN ARRAY ARRAY['archon_crawled_pages', 'archon_code_examples'] LOOP
		alter_cols := '{}';
		FOREACH d IN ARRAY pgkb.embedding_dimensions() LOOP
			col := 'embedding_' || d;
			IF (SELECT atttypid FROM pg_attribute
			     WHERE attrelid = format('public.%I', tbl)::regclass AND attname = col) = 'real[]'::regtype THEN
				EXECUTE format('ALTER TABLE public.%I DROP CONSTRAINT IF EXISTS %I', tbl, tbl || '_' || col || '_dims');
				alter_cols := alter_cols || format('ALTER COLUMN %I TYPE %I.vector(%s) USING %I::%I.vector(%s)',
				                                   col, ext, d, col, ext, d);
			END IF;
		END LOOP;
		IF cardinality(alter_cols) > 0 THEN
			EXECUTE format('ALTER TABLE public.%I %s', tbl, array_to_string(alter_cols, ', '));
		END IF;
		-- Archon's own setup builds ivfflat indexes on the empty table: lists trained on nothing give poor
		-- recall, and the planner may prefer them to HNSW. Drop them.
		FOR idx IN
			SELECT i.oid::regclass FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_am am ON am.oid = i.relam
			 WHERE x.indrelid = format('public.%I', tbl)::regclass AND am.amname = 'ivfflat'
		LOOP
			EXECUTE format('DROP INDEX %s', idx);
		END LOOP;
		FOREACH d IN ARRAY pgkb.embedding_dimensions() LOOP
			col := 'embedding_' || d;
			IF d <= 2000 THEN
				EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON public.%I USING hnsw (%I %I.vector_cosine_ops)',
				               'idx_' || tbl || '_' || col || '_hnsw', tbl, col, ext);
			ELSIF has_halfvec AND d <= 4000 THEN
				EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON public.%I USING hnsw ((%I::%I.halfvec(%s)) %I.halfvec_cosine_ops)',
				               'idx_' || tbl || '_' || col || '_hnsw', tbl, col, ext, d, ext);
			END IF;
		END LOOP;
	END LOOP;
END;
$$;

DO $$
BEGIN
	IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector')
	   AND lower(coalesce(nullif(current_setting('pgkb.embedding_backend', true), ''), 'auto')) <> 'array' THEN
		PERFORM pgkb.embedding_columns_to_vector();
	END IF;
	RAISE NOTICE 'pgkb: embedding backend: %', pgkb.embedding_backend();
END $$;
