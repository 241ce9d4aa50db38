/* pgkb enqueue ingest and the documents section of pgkb status (placeholder until the ingest worker lands). */
#include <stdio.h>

#include "cli.h"

int cli_enqueue_ingest(struct cli *c, int argc, char **argv)
{
	fprintf(stderr, "pgkb: ingest jobs are not available in this build yet\n");
	return 1;
}

int cli_status_documents(struct cli *c)
{
	return 0;
}
