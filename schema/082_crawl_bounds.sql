-- Why a crawl's discovery (robots.txt sitemaps, /sitemap.xml, llms.txt) stopped before reading everything it
-- found: the configuration bounds that were hit (crawl.sitemap_max_files, crawl.sitemap_max_depth,
-- crawl.sitemap_max_entries, crawl.discovery_max_urls, crawl.discovery_timeout), each with what it cut. NULL when
-- the discovery read everything. The crawl itself goes on with the URLs found within the bounds.
ALTER TABLE pgkb.crawls ADD COLUMN discovery_stopped text;
COMMENT ON COLUMN pgkb.crawls.discovery_stopped IS
	'bounds that ended this crawl''s sitemap and llms.txt discovery early (NULL: nothing was cut)';
