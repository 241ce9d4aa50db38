/* pgkb migrate [--status]: apply or list schema migrations. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/pgkb/cli.h"
#include "lib/pg/migrate.h"

int cli_migrate(struct cli *c, int argc, char **argv)
{
	int status = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--status") == 0) {
			status = 1;
		} else {
			fprintf(stderr, "pgkb: migrate: unknown option %s (usage: pgkb migrate [--status])\n", argv[i]);
			return 2;
		}
	}
	if (cli_connect(c) != 0)
		return 1;
	char *err = NULL;
	const char *dir = migrate_dir();
	int n = status ? migrate_status(c->db, dir, stdout, &err) : migrate_apply(c->db, dir, stdout, &err);
	if (n < 0) {
		fprintf(stderr, "pgkb: %s\n", err);
		free(err);
		return 1;
	}
	if (status)
		printf("%d pending\n", n);
	else if (n == 0)
		printf("schema is up to date\n");
	else
		printf("%d migrations applied\n", n);
	return 0;
}
