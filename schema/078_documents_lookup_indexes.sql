-- A document is looked up by (source_id, url) on every fetch and every offered link. A generic plan made while
-- documents is nearly empty prices every index alike and may serve that lookup from documents_source_status
-- (source_id only, then a filter on url), reading every document of the source for each page: a crawl of
-- 1,169 pages read 510,000 index entries that way. The unique (source_id, url) index and documents_url serve
-- the lookup; "documents of a source" is served by the unique index's leading column. One index fewer is also
-- one fewer to update on every status change.
DROP INDEX pgkb.documents_source_status;
