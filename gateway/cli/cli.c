/* Subcommand dispatch. */
#include "gateway/cli/cli.h"

#include <stdio.h>
#include <string.h>

int dk_cli_main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		printf("docket %s\n", DOCKET_VERSION);
		return DK_EXIT_OK;
	}
	fprintf(stderr, "usage: docket COMMAND [OPTIONS]\n");
	return DK_EXIT_USAGE;
}
