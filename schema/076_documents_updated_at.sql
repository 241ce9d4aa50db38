-- documents.updated_at: a statement that sets it itself skips the trigger. The trigger is PL/pgSQL, which
-- copies the whole new row to change one column; the fetch's body write (10–100 KB rows before TOAST) now sets
-- updated_at in the statement instead. Every other UPDATE still gets it from the trigger.
DROP TRIGGER documents_updated_at ON pgkb.documents;
CREATE TRIGGER documents_updated_at BEFORE UPDATE ON pgkb.documents
	FOR EACH ROW WHEN (NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at)
	EXECUTE FUNCTION public.update_updated_at_column();
