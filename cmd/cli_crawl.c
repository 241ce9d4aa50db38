/* pgkb enqueue crawl and the crawls section of pgkb status (placeholder until the crawl worker lands). */
#include <stdio.h>

#include "cli.h"

int cli_enqueue_crawl(struct cli *c, int argc, char **argv)
{
	fprintf(stderr, "pgkb: crawl jobs are not available in this build yet\n");
	return 1;
}

int cli_status_crawls(struct cli *c, int watch)
{
	return 0;
}
