/* Loaded with LD_PRELOAD by test_random_secret.py: GLib's global random
 * generator as an attacker sees it once its Mersenne Twister state is
 * recovered from ~600 published outputs (RFC 4086 section 6.1): every
 * value known in advance. Here: always 0x41414141. */
#include <glib.h>

guint32 g_random_int(void)
{
	return 0x41414141u;
}

gint32 g_random_int_range(gint32 begin, gint32 end)
{
	return begin;
}

gdouble g_random_double(void)
{
	return 0.25;
}

gdouble g_random_double_range(gdouble begin, gdouble end)
{
	return begin;
}
