/* Control commands of RFC 5228 section 3: if, elsif, else and stop. The
 * interpreter runs the if-chains itself; these tables give their shape. */
#include "rules/sieve-private.h"

static DkSieveStep run_stop(DkSieveInterp *ip, const DkSieveNode *node)
{
	return DK_STEP_STOP;
}

const DkSieveDef dk_sieve_cmd_if = {.name = "if", .tests = 1, .block = TRUE};
const DkSieveDef dk_sieve_cmd_elsif = {.name = "elsif", .tests = 1, .block = TRUE};
const DkSieveDef dk_sieve_cmd_else = {.name = "else", .block = TRUE};
const DkSieveDef dk_sieve_cmd_stop = {.name = "stop", .run = run_stop};
