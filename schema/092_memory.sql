-- Conversation memory beside the knowledge base (schema pgkb_memory): sessions and their messages, written by
-- an application with plain INSERTs; their embedding by the embed workers (job kind embed_messages, enqueued by
-- a statement trigger); the SQL an application calls for a prompt (recent_context, recall, context_for_prompt);
-- expiry (the maintenance timer calls pgkb.memory_expire) and deletion; and the bookkeeping of
-- `pgkb import sqlite` (imports, import_rejects).
--
--   INSERT INTO pgkb_memory.sessions (id, user_id) VALUES ('s-42', 'alice');
--   INSERT INTO pgkb_memory.messages (session_id, role, content) VALUES ('s-42', 'user', 'How do I ...?');
--   SELECT * FROM pgkb_memory.context_for_prompt('s-42', 'How do I ...?', $query_vector, 2000, 5);
--
-- Vectors are real[] whatever variant the knowledge base uses (messages are searched per session or per user,
-- a few thousand rows at most in the usual case; see recall for the bound on a user's history).

CREATE SCHEMA IF NOT EXISTS pgkb_memory;

INSERT INTO pgkb.job_kinds (kind, position, description) VALUES
	('embed_messages', 56, 'embeds conversation messages (pgkb_memory.messages) that lack a vector for their content');
INSERT INTO pgkb.wakeups (kind) VALUES ('embed_messages') ON CONFLICT DO NOTHING;

-- Ids are text so that an application keeps its own (UUIDs, integers of an imported store); a session without
-- one gets a UUID. expires_at: this session is deleted after that time, and not before, whatever
-- memory.retention says.
CREATE TABLE pgkb_memory.sessions (
	id              text        PRIMARY KEY DEFAULT gen_random_uuid()::text,
	user_id         text,
	title           text,
	metadata        jsonb       NOT NULL DEFAULT '{}',
	created_at      timestamptz NOT NULL DEFAULT now(),
	last_message_at timestamptz,
	expires_at      timestamptz,
	CONSTRAINT sessions_id_length CHECK (octet_length(id) BETWEEN 1 AND 512),
	CONSTRAINT sessions_metadata_object CHECK (jsonb_typeof(metadata) = 'object')
);
CREATE INDEX sessions_user ON pgkb_memory.sessions (user_id);
-- expiry: by expires_at, and by last activity against memory.retention
CREATE INDEX sessions_expires ON pgkb_memory.sessions (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX sessions_activity ON pgkb_memory.sessions ((coalesce(last_message_at, created_at)))
	WHERE expires_at IS NULL;

-- user_id is the session's (copied by the trigger when the INSERT leaves it NULL), so a user's history is read
-- without a join. token_count: the application's count, or estimated (4 bytes a token) when NULL.
-- embedding_* are NULL until the embed worker has embedded the current content (a changed content clears them).
CREATE TABLE pgkb_memory.messages (
	id                    bigserial   PRIMARY KEY,
	session_id            text        NOT NULL REFERENCES pgkb_memory.sessions (id) ON DELETE CASCADE,
	user_id               text,
	role                  text        NOT NULL,
	content               text        NOT NULL,
	token_count           integer     NOT NULL,
	metadata              jsonb       NOT NULL DEFAULT '{}',
	created_at            timestamptz NOT NULL DEFAULT now(),
	embedding             real[],
	embedding_model       text,
	embedding_dimension   integer,
	embedding_signs       varbit, -- pgkb_memory.sign_bits(embedding): recall's cheap first pass
	content_search_vector tsvector GENERATED ALWAYS AS (to_tsvector('english', content)) STORED,
	CONSTRAINT messages_role CHECK (role IN ('system', 'user', 'assistant', 'tool')),
	CONSTRAINT messages_token_count CHECK (token_count >= 0),
	CONSTRAINT messages_metadata_object CHECK (jsonb_typeof(metadata) = 'object'),
	CONSTRAINT messages_embedding CHECK ((embedding IS NULL) = (embedding_dimension IS NULL)
	                                     AND (embedding IS NULL OR cardinality(embedding) = embedding_dimension))
);
-- The recent window of a session, newest first, and recall's first pass over a session or a user's history:
-- the included columns are all those passes read, so they are index-only scans (the table is read for the few
-- rows they keep).
CREATE INDEX messages_session_recent ON pgkb_memory.messages (session_id, created_at DESC, id DESC)
	INCLUDE (role, token_count, embedding_dimension, embedding_signs);
CREATE INDEX messages_user_recent ON pgkb_memory.messages (user_id, created_at DESC, id DESC)
	INCLUDE (embedding_dimension, embedding_signs);
-- the system messages of a session (recent_context keeps them all)
CREATE INDEX messages_session_system ON pgkb_memory.messages (session_id) WHERE role = 'system';
-- the keyword side of recall
CREATE INDEX messages_search ON pgkb_memory.messages USING gin (content_search_vector);
-- messages still waiting for a vector (what an operator checks when embed workers were down)
CREATE INDEX messages_pending_embed ON pgkb_memory.messages (id) WHERE embedding IS NULL;

-- Messages per embed_messages job: a bulk INSERT of 10,000 rows makes 40 jobs, each a few embedding requests.
CREATE FUNCTION pgkb_memory.embed_batch_size() RETURNS integer LANGUAGE sql IMMUTABLE AS $$ SELECT 250 $$;

-- Before each row: the session's user, the estimated token count, and on a content change the vector cleared
-- (the statement trigger below enqueues the new embedding).
CREATE FUNCTION pgkb_memory.messages_prepare() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		IF NEW.user_id IS NULL THEN
			SELECT s.user_id INTO NEW.user_id FROM pgkb_memory.sessions s WHERE s.id = NEW.session_id;
		END IF;
		IF NEW.token_count IS NULL THEN
			NEW.token_count := (octet_length(NEW.content) + 3) / 4;
		END IF;
	ELSIF NEW.content IS DISTINCT FROM OLD.content THEN
		IF NEW.token_count IS NOT DISTINCT FROM OLD.token_count THEN
			NEW.token_count := (octet_length(NEW.content) + 3) / 4;
		END IF;
		NEW.embedding := NULL;
		NEW.embedding_model := NULL;
		NEW.embedding_dimension := NULL;
		NEW.embedding_signs := NULL;
	END IF;
	RETURN NEW;
END;
$$;
CREATE TRIGGER messages_prepare BEFORE INSERT OR UPDATE OF content ON pgkb_memory.messages
	FOR EACH ROW EXECUTE FUNCTION pgkb_memory.messages_prepare();

-- After each statement: one embed_messages job per embed_batch_size() new or changed messages (a transition
-- table gives their ids; the job INSERT wakes the embed workers through pgkb.jobs' throttled NOTIFY), and the
-- sessions' last_message_at. SECURITY DEFINER: an application role needs privileges on pgkb_memory only, not
-- on the queue. The job is in the same transaction as the messages: a rollback enqueues nothing, a commit
-- leaves the work in the queue however long the embed workers are down.
CREATE FUNCTION pgkb_memory.messages_enqueue_embed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	ids bigint[];
BEGIN
	IF TG_OP = 'INSERT' THEN
		ids := ARRAY(SELECT n.id FROM new_messages n ORDER BY n.id);
		UPDATE pgkb_memory.sessions s SET last_message_at = greatest(s.last_message_at, l.at)
		  FROM (SELECT n.session_id, max(n.created_at) AS at FROM new_messages n GROUP BY n.session_id) l
		 WHERE s.id = l.session_id AND s.last_message_at IS DISTINCT FROM greatest(s.last_message_at, l.at);
	ELSE
		ids := ARRAY(SELECT n.id FROM new_messages n JOIN old_messages o ON o.id = n.id
		              WHERE n.content IS DISTINCT FROM o.content ORDER BY n.id);
	END IF;
	INSERT INTO pgkb.jobs (kind, payload)
	SELECT 'embed_messages', jsonb_build_object('message_ids', jsonb_agg(u.id ORDER BY u.o))
	  FROM unnest(ids) WITH ORDINALITY AS u(id, o)
	 GROUP BY (u.o - 1) / pgkb_memory.embed_batch_size();
	RETURN NULL;
END;
$$;
CREATE TRIGGER messages_enqueue_embed_insert AFTER INSERT ON pgkb_memory.messages
	REFERENCING NEW TABLE AS new_messages FOR EACH STATEMENT EXECUTE FUNCTION pgkb_memory.messages_enqueue_embed();
-- (a transition table cannot go with UPDATE OF content: every UPDATE statement is looked at, and one that
-- changed no content enqueues nothing)
CREATE TRIGGER messages_enqueue_embed_update AFTER UPDATE ON pgkb_memory.messages
	REFERENCING OLD TABLE AS old_messages NEW TABLE AS new_messages
	FOR EACH STATEMENT EXECUTE FUNCTION pgkb_memory.messages_enqueue_embed();

-- The functions the workers call (embedding, expiry) live in schema pgkb and run as their owner: the worker role
-- that pgkb.grant_worker_role sets up (EXECUTE on pgkb's functions) needs no privilege on pgkb_memory, and
-- PUBLIC may not call them (REVOKE below).

-- The embed worker's load: of the given ids, the messages still without a vector, with the hash of the content
-- they are embedded from.
CREATE FUNCTION pgkb.memory_embed_load(p_ids bigint[])
RETURNS TABLE (id bigint, content_md5 text, content text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	SELECT m.id, md5(m.content), m.content FROM pgkb_memory.messages m
	 WHERE m.id = ANY (p_ids) AND m.embedding IS NULL ORDER BY m.id
$$;

-- The embed worker's write: the vector of p_ids[i] is p_vectors[(i-1)*p_dim+1 : i*p_dim]. A message whose
-- content changed since the load (its hash differs: a newer job embeds it) or that was deleted is skipped.
-- Returns the number of messages stored.
CREATE FUNCTION pgkb.memory_embed_store(p_ids bigint[], p_md5 text[], p_vectors real[], p_model text,
                                        p_dim integer)
RETURNS integer LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	n integer;
BEGIN
	IF coalesce(cardinality(p_vectors), 0) <> coalesce(cardinality(p_ids), 0) * p_dim
	   OR coalesce(cardinality(p_ids), 0) <> coalesce(cardinality(p_md5), 0) THEN
		RAISE EXCEPTION 'pgkb: memory embed_store: % vector elements and % hashes for % messages of dimension %',
			coalesce(cardinality(p_vectors), 0), coalesce(cardinality(p_md5), 0), coalesce(cardinality(p_ids), 0),
			p_dim USING ERRCODE = 'invalid_parameter_value';
	END IF;
	UPDATE pgkb_memory.messages m
	   SET embedding = p_vectors[(u.o - 1) * p_dim + 1 : u.o * p_dim], embedding_model = p_model,
	       embedding_dimension = p_dim,
	       embedding_signs = pgkb_memory.sign_bits(p_vectors[(u.o - 1) * p_dim + 1 : u.o * p_dim])
	  FROM unnest(p_ids, p_md5) WITH ORDINALITY AS u(id, h, o)
	 WHERE m.id = u.id AND m.embedding IS NULL AND md5(m.content) = u.h;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END;
$$;

-- The recent window of a session for a prompt within p_token_budget tokens: every system message of the
-- session (always kept, whatever their size; their tokens count first, so they leave the rest of the budget
-- to the others), then the other messages newest first for as long as the next one fits whole (a message is
-- never cut, and the window stops at the first that does not fit, so it is a contiguous tail of the
-- conversation), at most p_max_messages of them. Rows come in conversation order (oldest first), ready to
-- be put in a prompt; recency is 1 for the newest message, 0 for system messages.
CREATE FUNCTION pgkb_memory.recent_context(p_session_id text, p_token_budget integer,
                                           p_max_messages integer DEFAULT 1000)
RETURNS TABLE (id bigint, role text, content text, token_count integer, created_at timestamptz, metadata jsonb,
               recency integer)
LANGUAGE sql STABLE SET jit = off AS $$
	WITH tail AS MATERIALIZED (
		-- newest first with the running total of tokens, from messages_session_recent alone
		SELECT t.id, sum(t.token_count) OVER w AS running, (row_number() OVER w)::integer AS recency
		  FROM (SELECT s.id, s.token_count, s.created_at
		          FROM pgkb_memory.messages s WHERE s.session_id = p_session_id AND s.role <> 'system'
		         ORDER BY s.created_at DESC, s.id DESC
		         LIMIT greatest(coalesce(p_max_messages, 1000), 0)) t
		WINDOW w AS (ORDER BY t.created_at DESC, t.id DESC)
	), sys AS MATERIALIZED (
		SELECT s.id, s.token_count FROM pgkb_memory.messages s
		 WHERE s.session_id = p_session_id AND s.role = 'system'
	), chosen AS (
		SELECT sys.id, 0 AS recency FROM sys
		UNION ALL
		SELECT tail.id, tail.recency FROM tail
		 WHERE tail.running <= coalesce(p_token_budget, 0) - (SELECT coalesce(sum(sys.token_count), 0) FROM sys)
	)
	SELECT m.id, m.role, m.content, m.token_count, m.created_at, m.metadata, c.recency
	  FROM chosen c JOIN pgkb_memory.messages m ON m.id = c.id
	 ORDER BY m.created_at, m.id
$$;

-- Sign bits of a vector, two per component ('10' positive, '01' negative, '00' zero): the number of bits two
-- such strings share (bit_count(a & b)) counts the components where both vectors point the same way, a cheap
-- stand-in for their cosine that recall uses to pick the candidates it then ranks exactly.
CREATE FUNCTION pgkb_memory.sign_bits(v real[]) RETURNS varbit
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
	SELECT string_agg(CASE WHEN x > 0 THEN '10' WHEN x < 0 THEN '01' ELSE '00' END, '' ORDER BY o)::varbit
	  FROM unnest(v) WITH ORDINALITY AS u(x, o)
$$;

-- Recall without its window computed: the messages in p_exclude are left out (recall and context_for_prompt
-- pass the recent window). The read functions run with jit off: the estimates of these scans cross
-- jit_above_cost, and compiling them took 20 to 150 ms, ten times the query.
CREATE FUNCTION pgkb_memory.recall_excluding(p_session_id text, p_query_text text, p_query_embedding real[],
                                             p_k integer, p_exclude bigint[], p_across_sessions boolean,
                                             p_vector_scan integer)
RETURNS TABLE (id bigint, session_id text, role text, content text, created_at timestamptz, metadata jsonb,
               similarity double precision, match_type text)
LANGUAGE plpgsql STABLE SET jit = off AS $$
DECLARE
	tsq tsquery := websearch_to_tsquery('english', coalesce(p_query_text, ''));
	q_norm double precision := pgkb.l2_norm(p_query_embedding);
	q_bits varbit := pgkb_memory.sign_bits(p_query_embedding);
	uid text;
	-- candidates per ranking: fewer than the knowledge-base search takes (rrf_candidates), as each vector
	-- candidate costs an exact cosine (~0.1 ms in SQL) and a recall asks for a handful of messages
	ncand integer := least(greatest(coalesce(p_k, 0) * 4, 10), 1000);
BEGIN
	IF coalesce(p_k, 0) < 1 THEN
		RETURN;
	END IF;
	IF numnode(tsq) = 0 THEN
		tsq := NULL;
	END IF;
	IF p_across_sessions THEN
		SELECT s.user_id INTO uid FROM pgkb_memory.sessions s WHERE s.id = p_session_id;
		IF uid IS NULL THEN
			p_across_sessions := false; -- a session without a user: its own messages only
		END IF;
	END IF;
	p_exclude := coalesce(p_exclude, '{}');
	RETURN QUERY
	WITH scope AS MATERIALIZED (
		-- the newest p_vector_scan embedded messages of the scope, by their sign bits' agreement with the query
		SELECT m.id, bit_count(m.embedding_signs & q_bits) AS agree
		  FROM pgkb_memory.messages m
		 WHERE q_norm IS NOT NULL AND m.embedding_dimension = cardinality(p_query_embedding)
		   AND CASE WHEN p_across_sessions THEN m.user_id = uid ELSE m.session_id = p_session_id END
		   AND NOT m.id = ANY (p_exclude)
		 ORDER BY m.created_at DESC, m.id DESC
		 LIMIT greatest(coalesce(p_vector_scan, 2000), 0)
	), vec AS (
		-- the best candidates by sign agreement, ranked by exact cosine similarity
		SELECT v.id, row_number() OVER (ORDER BY v.sim DESC, v.id) AS r
		  FROM (SELECT c.id, pgkb.cosine_similarity(m.embedding, p_query_embedding, q_norm) AS sim
		          FROM (SELECT s.id FROM scope s ORDER BY s.agree DESC, s.id LIMIT ncand) c
		          JOIN pgkb_memory.messages m ON m.id = c.id
		         ORDER BY sim DESC NULLS LAST, c.id LIMIT ncand) v
	), kw AS (
		SELECT t.id, row_number() OVER (ORDER BY t.rank DESC, t.id) AS r
		  FROM (SELECT m.id, ts_rank_cd(m.content_search_vector, tsq) AS rank FROM pgkb_memory.messages m
		         WHERE tsq IS NOT NULL AND m.content_search_vector @@ tsq
		           AND CASE WHEN p_across_sessions THEN m.user_id = uid ELSE m.session_id = p_session_id END
		           AND NOT m.id = ANY (p_exclude)
		         ORDER BY rank DESC, m.id LIMIT ncand) t
	), fused AS (
		SELECT coalesce(vec.id, kw.id) AS id, vec.r AS vr, kw.r AS kr,
		       coalesce(1.0::float8 / (60 + vec.r), 0) + coalesce(1.0::float8 / (60 + kw.r), 0) AS score
		  FROM vec FULL JOIN kw ON kw.id = vec.id
	)
	SELECT m.id, m.session_id, m.role, m.content, m.created_at, m.metadata, f.score * 61 / 2,
	       CASE WHEN f.vr IS NOT NULL AND f.kr IS NOT NULL THEN 'hybrid'
	            WHEN f.vr IS NOT NULL THEN 'vector' ELSE 'keyword' END
	  FROM fused f JOIN pgkb_memory.messages m ON m.id = f.id
	 ORDER BY f.score DESC, least(f.vr, f.kr), m.id
	 LIMIT p_k;
END;
$$;

-- Semantic recall: the p_k earlier messages most relevant to a question, from the session p_session_id, or
-- with p_across_sessions from every session of that session's user. Hybrid like the knowledge-base search:
-- reciprocal rank fusion of a vector ranking (messages embedded with vectors of p_query_embedding's dimension)
-- and a keyword ranking (ts_rank_cd over websearch_to_tsquery('english', p_query_text)), each contributing
-- 4 * p_k candidates (at least 10); score = sum of 1 / (60 + rank), similarity = score * 61 / 2 (1.0: first
-- in both). A NULL embedding makes it a keyword search, a text without search terms a vector search. The
-- messages of the recent window (recent_context(p_session_id, p_token_budget)) are left out: they are in the
-- prompt already.
-- The vector ranking looks at the newest p_vector_scan embedded messages of the scope (default 2,000; older
-- ones are reached through the keyword side): it keeps the 4 * p_k of them whose sign bits agree most with
-- the query's (pgkb_memory.sign_bits) and ranks those by exact cosine similarity. Exact cosine
-- over real[] costs ~0.1 ms a row in SQL, the bit count a few µs, so a call on a user with 100,000 messages stays
-- in milliseconds.
CREATE FUNCTION pgkb_memory.recall(p_session_id text, p_query_text text, p_query_embedding real[],
                                   p_k integer DEFAULT 5, p_token_budget integer DEFAULT 0,
                                   p_across_sessions boolean DEFAULT false, p_vector_scan integer DEFAULT 2000)
RETURNS TABLE (id bigint, session_id text, role text, content text, created_at timestamptz, metadata jsonb,
               similarity double precision, match_type text)
LANGUAGE sql STABLE SET jit = off AS $$
	SELECT * FROM pgkb_memory.recall_excluding(p_session_id, p_query_text, p_query_embedding, p_k,
		ARRAY(SELECT r.id FROM pgkb_memory.recent_context(p_session_id, coalesce(p_token_budget, 0)) r),
		p_across_sessions, p_vector_scan)
$$;

-- Both parts of a prompt in one call: part 'recent' (recent_context, conversation order), then part 'recall'
-- (recall over what the recent window left out, best first). The recalled messages do not count against
-- p_token_budget: the application bounds them with p_k.
CREATE FUNCTION pgkb_memory.context_for_prompt(p_session_id text, p_query_text text, p_query_embedding real[],
                                               p_token_budget integer, p_k integer DEFAULT 5,
                                               p_across_sessions boolean DEFAULT false)
RETURNS TABLE (part text, id bigint, session_id text, role text, content text, token_count integer,
               created_at timestamptz, score double precision)
LANGUAGE sql STABLE SET jit = off AS $$
	WITH r AS MATERIALIZED (SELECT * FROM pgkb_memory.recent_context(p_session_id, p_token_budget))
	SELECT x.* FROM (
		SELECT 'recent'::text AS part, r.id, p_session_id AS session_id, r.role, r.content, r.token_count,
		       r.created_at, NULL::float8 AS score
		  FROM r
		UNION ALL
		SELECT 'recall', c.id, c.session_id, c.role, c.content, m.token_count, c.created_at, c.similarity
		  FROM pgkb_memory.recall_excluding(p_session_id, p_query_text, p_query_embedding, p_k,
		                                    ARRAY(SELECT r.id FROM r), p_across_sessions, 2000) c
		  JOIN pgkb_memory.messages m ON m.id = c.id) x
	 ORDER BY x.part DESC, CASE WHEN x.part = 'recent' THEN x.created_at END, x.score DESC, x.id
$$;

-- Deletes a session and its messages now (an application's "forget this conversation"); returns the number
-- of messages deleted, NULL when there was no such session.
CREATE FUNCTION pgkb_memory.delete_session(p_session_id text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
	n bigint;
BEGIN
	PERFORM 1 FROM pgkb_memory.sessions WHERE id = p_session_id FOR UPDATE;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	DELETE FROM pgkb_memory.messages WHERE session_id = p_session_id;
	GET DIAGNOSTICS n = ROW_COUNT;
	DELETE FROM pgkb_memory.sessions WHERE id = p_session_id;
	RETURN n;
END;
$$;

-- Expiry, called by every worker's maintenance timer (memory.retention; one caller at a time does the work):
-- a session with an expires_at is expired when that has passed (it overrides the retention); one without, with a
-- positive p_retention, when its last message (or its creation) is older than that. Takes up to 2 * p_limit expired sessions, deletes up to p_limit of their
-- messages, then those of them left without messages, so one call stays short however long a session was; the
-- next tick goes on. Returns the number of messages plus sessions deleted.
CREATE FUNCTION pgkb.memory_expire(p_retention interval, p_limit integer DEFAULT 10000) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	cutoff timestamptz := CASE WHEN p_retention > interval '0' THEN clock_timestamp() - p_retention END;
	n_msgs bigint;
	n_sessions bigint;
	expired text[];
BEGIN
	IF NOT pg_try_advisory_xact_lock(hashtextextended('pgkb_memory.expire', 0)) THEN
		RETURN 0;
	END IF;
	expired := ARRAY(
		(SELECT s.id FROM pgkb_memory.sessions s WHERE s.expires_at < clock_timestamp() LIMIT p_limit)
		UNION
		(SELECT s.id FROM pgkb_memory.sessions s
		  WHERE s.expires_at IS NULL AND coalesce(s.last_message_at, s.created_at) < cutoff LIMIT p_limit));
	IF cardinality(expired) = 0 THEN
		RETURN 0;
	END IF;
	DELETE FROM pgkb_memory.messages m WHERE m.id = ANY (ARRAY(
		SELECT x.id FROM pgkb_memory.messages x WHERE x.session_id = ANY (expired) LIMIT p_limit));
	GET DIAGNOSTICS n_msgs = ROW_COUNT;
	DELETE FROM pgkb_memory.sessions s
	 WHERE s.id = ANY (expired)
	   AND NOT EXISTS (SELECT 1 FROM pgkb_memory.messages x WHERE x.session_id = s.id);
	GET DIAGNOSTICS n_sessions = ROW_COUNT;
	RETURN n_msgs + n_sessions;
END;
$$;

-- `pgkb import sqlite`: per file identity, mapping and source table, the high-water mark (largest source row
-- id done) and counts, committed in the same transaction as each batch, so a rerun continues after it.
CREATE TABLE pgkb_memory.imports (
	file_identity text        NOT NULL,
	mapping       text        NOT NULL,
	source_table  text        NOT NULL,
	high_water    bigint      NOT NULL DEFAULT -9223372036854775808,
	imported      bigint      NOT NULL DEFAULT 0,
	rejected      bigint      NOT NULL DEFAULT 0,
	finished_at   timestamptz,
	updated_at    timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (file_identity, mapping, source_table)
);
-- Rows an import could not convert, with why (the report `pgkb import` prints).
CREATE TABLE pgkb_memory.import_rejects (
	file_identity text   NOT NULL,
	mapping       text   NOT NULL,
	source_table  text   NOT NULL,
	source_row_id bigint NOT NULL,
	reason        text   NOT NULL,
	PRIMARY KEY (file_identity, mapping, source_table, source_row_id)
);

REVOKE EXECUTE ON FUNCTION pgkb.memory_embed_load(bigint[]), pgkb.memory_embed_store(bigint[], text[], real[], text, integer),
	pgkb.memory_expire(interval, integer) FROM PUBLIC;
