-- Archon's project tables (projects, tasks, project-source links, document versions, prompts), for compatibility.
--
-- pgkb itself does not use them; they exist so an Archon deployment pointed at a pgkb database finds every table
-- it expects. Shapes follow Archon v1 (complete_setup.sql with the task-priority migration). Left out: Supabase
-- row-level-security policies and Archon's seed prompts; RLS stays off.

DO $$
BEGIN
	CREATE TYPE public.task_status AS ENUM ('todo', 'doing', 'review', 'done');
EXCEPTION WHEN duplicate_object THEN
	NULL;
END $$;

DO $$
BEGIN
	CREATE TYPE public.task_priority AS ENUM ('low', 'medium', 'high', 'critical');
EXCEPTION WHEN duplicate_object THEN
	NULL;
END $$;

CREATE TABLE IF NOT EXISTS public.archon_projects (
	id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	title       text NOT NULL,
	description text DEFAULT '',
	docs        jsonb DEFAULT '[]'::jsonb,
	features    jsonb DEFAULT '[]'::jsonb,
	data        jsonb DEFAULT '[]'::jsonb,
	github_repo text,
	pinned      boolean DEFAULT false,
	created_at  timestamptz DEFAULT now(),
	updated_at  timestamptz DEFAULT now()
);

-- assignee is free text (any agent name, or 'User'), never empty.
CREATE TABLE IF NOT EXISTS public.archon_tasks (
	id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	project_id     uuid REFERENCES public.archon_projects (id) ON DELETE CASCADE,
	parent_task_id uuid REFERENCES public.archon_tasks (id) ON DELETE CASCADE,
	title          text NOT NULL,
	description    text DEFAULT '',
	status         public.task_status DEFAULT 'todo',
	assignee       text DEFAULT 'User' CHECK (assignee IS NOT NULL AND assignee <> ''),
	task_order     integer DEFAULT 0,
	priority       public.task_priority NOT NULL DEFAULT 'medium',
	feature        text,
	sources        jsonb DEFAULT '[]'::jsonb,
	code_examples  jsonb DEFAULT '[]'::jsonb,
	archived       boolean DEFAULT false,
	archived_at    timestamptz,
	archived_by    text,
	created_at     timestamptz DEFAULT now(),
	updated_at     timestamptz DEFAULT now()
);

-- Links a project to knowledge sources. source_id carries no foreign key, as in Archon.
CREATE TABLE IF NOT EXISTS public.archon_project_sources (
	id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	project_id uuid REFERENCES public.archon_projects (id) ON DELETE CASCADE,
	source_id  text NOT NULL,
	linked_at  timestamptz DEFAULT now(),
	created_by text DEFAULT 'system',
	notes      text,
	UNIQUE (project_id, source_id)
);

-- Snapshots of a project's JSONB fields (docs, features, data). task_id is kept for old rows only.
CREATE TABLE IF NOT EXISTS public.archon_document_versions (
	id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	project_id     uuid REFERENCES public.archon_projects (id) ON DELETE CASCADE,
	task_id        uuid REFERENCES public.archon_tasks (id) ON DELETE CASCADE,
	field_name     text NOT NULL,
	version_number integer NOT NULL,
	content        jsonb NOT NULL,
	change_summary text,
	change_type    text DEFAULT 'update',
	document_id    text,
	created_by     text DEFAULT 'system',
	created_at     timestamptz DEFAULT now(),
	CONSTRAINT chk_project_or_task CHECK ((project_id IS NOT NULL) <> (task_id IS NOT NULL)),
	UNIQUE (project_id, task_id, field_name, version_number)
);

CREATE TABLE IF NOT EXISTS public.archon_prompts (
	id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	prompt_name text NOT NULL UNIQUE,
	prompt      text NOT NULL,
	description text,
	created_at  timestamptz DEFAULT now(),
	updated_at  timestamptz DEFAULT now()
);

CREATE INDEX IF NOT EXISTS idx_archon_tasks_project_id ON public.archon_tasks (project_id);
CREATE INDEX IF NOT EXISTS idx_archon_tasks_status ON public.archon_tasks (status);
CREATE INDEX IF NOT EXISTS idx_archon_tasks_assignee ON public.archon_tasks (assignee);
CREATE INDEX IF NOT EXISTS idx_archon_tasks_order ON public.archon_tasks (task_order);
CREATE INDEX IF NOT EXISTS idx_archon_tasks_priority ON public.archon_tasks (priority);
CREATE INDEX IF NOT EXISTS idx_archon_tasks_archived ON public.archon_tasks (archived);
CREATE INDEX IF NOT EXISTS idx_archon_tasks_archived_at ON public.archon_tasks (archived_at);
CREATE INDEX IF NOT EXISTS idx_archon_project_sources_project_id ON public.archon_project_sources (project_id);
CREATE INDEX IF NOT EXISTS idx_archon_project_sources_source_id ON public.archon_project_sources (source_id);
CREATE INDEX IF NOT EXISTS idx_archon_document_versions_project_id ON public.archon_document_versions (project_id);
CREATE INDEX IF NOT EXISTS idx_archon_document_versions_task_id ON public.archon_document_versions (task_id);
CREATE INDEX IF NOT EXISTS idx_archon_document_versions_field_name ON public.archon_document_versions (field_name);
CREATE INDEX IF NOT EXISTS idx_archon_document_versions_version_number
	ON public.archon_document_versions (version_number);
CREATE INDEX IF NOT EXISTS idx_archon_document_versions_created_at ON public.archon_document_versions (created_at);
CREATE INDEX IF NOT EXISTS idx_archon_prompts_name ON public.archon_prompts (prompt_name);

CREATE OR REPLACE TRIGGER update_archon_projects_updated_at BEFORE UPDATE ON public.archon_projects
	FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();
CREATE OR REPLACE TRIGGER update_archon_tasks_updated_at BEFORE UPDATE ON public.archon_tasks
	FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();
CREATE OR REPLACE TRIGGER update_archon_prompts_updated_at BEFORE UPDATE ON public.archon_prompts
	FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();

-- Soft delete: archives a task that is not archived yet, and its unarchived subtasks. False when there was
-- no such task.
CREATE OR REPLACE FUNCTION public.archive_task(task_id_param uuid, archived_by_param text DEFAULT 'system')
RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
	UPDATE public.archon_tasks
	   SET archived = true, archived_at = now(), archived_by = archived_by_param, updated_at = now()
	 WHERE id = task_id_param AND archived = false;
	IF NOT FOUND THEN
		RETURN false;
	END IF;
	UPDATE public.archon_tasks
	   SET archived = true, archived_at = now(), archived_by = archived_by_param, updated_at = now()
	 WHERE parent_task_id = task_id_param AND archived = false;
	RETURN true;
END;
$$;
