/* docket's own addresses and the agents'. */
#include "gateway/desk/staff.h"

#include <string.h>

struct DkStaff {
	char **mailboxes;       /* where customers write: [lmtp] recipients ("*@domain"
	                         * too), IMAP users, reply_address; lower case */
	char **own;             /* mailboxes and [notify] from, lower case */
	char **agent_addresses; /* lower case */
	char **agent_domains;   /* lower case */
};

static void add_lower(GStrvBuilder *b, const char *address)
{
	if (address != NULL && *address != '\0') {
		g_autofree char *lower = g_ascii_strdown(address, -1);
		g_strv_builder_add(b, lower);
	}
}

static char **lower_list(const DkConfig *config, const char *section, const char *key)
{
	g_auto(GStrv) list = dk_config_get_list(config, section, key);
	g_autoptr(GStrvBuilder) b = g_strv_builder_new();
	for (int i = 0; list[i] != NULL; i++)
		add_lower(b, list[i]);
	return g_strv_builder_end(b);
}

static char **mailboxes(const DkConfig *config)
{
	g_autoptr(GStrvBuilder) b = g_strv_builder_new();
	g_auto(GStrv) lmtp = dk_config_get_list(config, "lmtp", "recipients");
	for (int i = 0; lmtp[i] != NULL; i++)
		add_lower(b, lmtp[i]);
	g_auto(GStrv) accounts = dk_config_get_instances(config, "imap");
	for (int i = 0; accounts[i] != NULL; i++) {
		g_autofree char *section = g_strconcat("imap:", accounts[i], NULL);
		const char *user = dk_config_get_string(config, section, "user");
		if (strchr(user, '@') != NULL)
			add_lower(b, user);
	}
	add_lower(b, dk_config_get_string(config, "threading", "reply_address"));
	return g_strv_builder_end(b);
}

DkStaff *dk_staff_new(const DkConfig *config)
{
	DkStaff *s = g_new0(DkStaff, 1);
	s->mailboxes = mailboxes(config);
	g_autoptr(GStrvBuilder) own = g_strv_builder_new();
	g_strv_builder_addv(own, (const char **)s->mailboxes);
	add_lower(own, dk_config_get_string(config, "notify", "from"));
	s->own = g_strv_builder_end(own);
	s->agent_addresses = lower_list(config, "agents", "addresses");
	s->agent_domains = lower_list(config, "agents", "domains");
	return s;
}

void dk_staff_free(DkStaff *s)
{
	if (s == NULL)
		return;
	g_strfreev(s->mailboxes);
	g_strfreev(s->own);
	g_strfreev(s->agent_addresses);
	g_strfreev(s->agent_domains);
	g_free(s);
}

/* address in lower case without a "+detail" (RFC 5233), and "*@domain";
 * FALSE when it has no '@'. */
static gboolean base_of(const char *address, char **plain_out, char **any_out)
{
	const char *at = address ? strrchr(address, '@') : NULL;
	if (at == NULL)
		return FALSE;
	const char *plus = memchr(address, '+', (gsize)(at - address));
	gsize local = (gsize)((plus ? plus : at) - address);
	g_autofree char *base = g_ascii_strdown(address, (gssize)local);
	g_autofree char *domain = g_ascii_strdown(at, -1);
	*plain_out = g_strconcat(base, domain, NULL);
	*any_out = g_strconcat("*", domain, NULL);
	return TRUE;
}

static gboolean listed(char **list, const char *plain, const char *any)
{
	return g_strv_contains((const char *const *)list, plain) ||
	       g_strv_contains((const char *const *)list, any);
}

gboolean dk_staff_is_support_address(const DkStaff *s, const char *address)
{
	g_autofree char *plain = NULL, *any = NULL;
	return base_of(address, &plain, &any) && listed(s->own, plain, any);
}

char *dk_staff_support_mailbox(const DkStaff *s, const char *address)
{
	g_autofree char *plain = NULL, *any = NULL;
	if (!base_of(address, &plain, &any) || !listed(s->mailboxes, plain, any))
		return NULL;
	return g_steal_pointer(&plain);
}

gboolean dk_staff_is_agent(const DkStaff *s, const char *address)
{
	const char *at = address ? strrchr(address, '@') : NULL;
	if (at == NULL)
		return FALSE;
	g_autofree char *lower = g_ascii_strdown(address, -1);
	g_autofree char *lower_domain = g_ascii_strdown(at + 1, -1);
	return g_strv_contains((const char *const *)s->agent_addresses, lower) ||
	       g_strv_contains((const char *const *)s->agent_domains, lower_domain);
}

gboolean dk_staff_address_ok(const char *address)
{
	if (address == NULL || !g_utf8_validate(address, -1, NULL))
		return FALSE;
	const char *at = strrchr(address, '@');
	if (at == NULL || at == address || at[1] == '\0' || strlen(address) > 254)
		return FALSE;
	for (const char *p = address; *p != '\0'; p++) {
		guchar c = (guchar)*p;
		if (c <= 0x20 || c == 0x7f || strchr("<>()[],;:\"\\", c) != NULL ||
		    (c == '@' && p != at))
			return FALSE;
	}
	return TRUE;
}
