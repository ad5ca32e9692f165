/* docket: the program's entry. Dispatches to the subcommands in cli/. */
#include "gateway/cli/cli.h"

int main(int argc, char **argv)
{
	return dk_cli_main(argc, argv);
}
