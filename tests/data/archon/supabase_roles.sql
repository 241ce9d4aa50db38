-- What a Supabase project has before Archon's complete_setup.sql runs in it, as far as Archon's SQL and the
-- tests here need it (written for pgkb's tests; not Supabase's code):
--   the API roles anon, authenticated and service_role (service_role bypasses row-level security);
--   USAGE on schema public for them, and ALL on the tables, functions and sequences created there later
--   (Supabase sets these default privileges for the role that runs migrations);
--   auth.role(): the role of the request's JWT, which Archon's policies compare with 'service_role'.
-- Idempotent, so the tests may apply it to a cluster where the roles exist.
DO $$
DECLARE
	r text;
BEGIN
	FOREACH r IN ARRAY ARRAY['anon', 'authenticated', 'service_role'] LOOP
		IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
			EXECUTE format('CREATE ROLE %I NOLOGIN', r);
		END IF;
	END LOOP;
END $$;
ALTER ROLE service_role BYPASSRLS;
GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON TABLES TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON FUNCTIONS TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON SEQUENCES TO anon, authenticated, service_role;
CREATE SCHEMA IF NOT EXISTS auth;
GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role;
CREATE OR REPLACE FUNCTION auth.role() RETURNS text
LANGUAGE sql STABLE AS $$
	SELECT coalesce(nullif(current_setting('request.jwt.claim.role', true), ''),
	                nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
$$;
