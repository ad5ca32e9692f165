/* The address and envelope tests (RFC 5228 sections 5.1 and 5.4) with the
 * address parts of section 2.7.4 and subaddress (RFC 5233). */
#include "rules/sieve-private.h"

#include <gmime/gmime.h>
#include <string.h>

/* RFC 5233: the separator between user and detail. */
#define DK_SIEVE_SUBADDRESS_SEPARATOR '+'

char *dk_sieve_address_part(const char *address, DkSieveAddressPart part)
{
	const char *at = strrchr(address, '@');
	gsize local_len = at ? (gsize)(at - address) : strlen(address);
	const char *sep = memchr(address, DK_SIEVE_SUBADDRESS_SEPARATOR, local_len);
	switch (part) {
	case DK_PART_LOCAL:
		return g_strndup(address, local_len);
	case DK_PART_DOMAIN:
		return g_strdup(at ? at + 1 : "");
	case DK_PART_USER:
		return g_strndup(address, sep ? (gsize)(sep - address) : local_len);
	case DK_PART_DETAIL:
		return sep ? g_strndup(sep + 1, local_len - (gsize)(sep - address) - 1) : NULL;
	default:
		return g_strdup(address);
	}
}

static void add_mailboxes(InternetAddressList *list, GPtrArray *out, guint depth)
{
	int n = internet_address_list_length(list);
	for (int i = 0; i < n && out->len < 1024; i++) {
		InternetAddress *ia = internet_address_list_get_address(list, i);
		if (INTERNET_ADDRESS_IS_GROUP(ia) && depth < 4) {
			add_mailboxes(
			    internet_address_group_get_members(INTERNET_ADDRESS_GROUP(ia)), out,
			    depth + 1);
		} else if (INTERNET_ADDRESS_IS_MAILBOX(ia)) {
			const char *addr =
			    internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia));
			if (addr && *addr)
				g_ptr_array_add(out, g_strdup(addr));
		}
	}
}

/* RFC 5228 section 5.1: the address test is restricted to headers that
 * hold addresses. */
static const char *const address_headers[] = {
    "from",
    "sender",
    "reply-to",
    "to",
    "cc",
    "bcc",
    "resent-from",
    "resent-sender",
    "resent-reply-to",
    "resent-to",
    "resent-cc",
    "resent-bcc",
    "return-path",
    "disposition-notification-to",
    "delivered-to",
    "errors-to",
    "mail-followup-to",
    "mail-reply-to",
    "original-recipient",
    "x-original-to",
    "x-original-from",
    "x-envelope-to",
    "x-envelope-from",
    "envelope-to",
    "apparently-to",
    "return-receipt-to",
    "return-receipt-requested",
    "read-receipt-to",
    "registered-mail-reply-requested-by",
    "for-approval",
    "for-comment",
    "for-handling",
    "abuse-reports-to",
    "x-report-abuse-to",
    "x-complaints-to",
    "x-confirm-reading-to",
    "x-admin",
    "x-beenthere",
    NULL,
};

/* A name that cannot be a header field (RFC 5322 section 2.2) never
 * matches; Pigeonhole only warns about it, and so does docket (silently). */
static gboolean field_name_valid(const char *name)
{
	for (const char *p = name; *p; p++)
		if (*p <= 32 || *p >= 127 || *p == ':')
			return FALSE;
	return *name != '\0';
}

static gboolean validate_address(DkSieveValidator *v, DkSieveNode *node)
{
	const DkSieveArg *names = dk_sieve_node_arg(node, 0);
	if (!dk_sieve_arg_constant(v, names))
		return TRUE;
	for (guint i = 0; i < names->strings->len; i++) {
		g_autofree char *name = g_ascii_strdown(g_ptr_array_index(names->strings, i), -1);
		if (field_name_valid(name) && !g_strv_contains(address_headers, name)) {
			dk_sieve_validator_error(v, names->line, names->column,
			                         "'%s' is not a header that holds addresses", name);
			return FALSE;
		}
	}
	return TRUE;
}

static gboolean address_valid(const char *address)
{
	const char *at = strrchr(address, '@');
	return at != NULL && at != address && at[1] != '\0';
}

/* RFC 5228 section 2.7.4: an address that is not syntactically valid is
 * only matched by :all, as written. */
static void add_parts(GPtrArray *addresses, DkSieveAddressPart part, GPtrArray *out)
{
	for (guint i = 0; i < addresses->len; i++) {
		const char *a = g_ptr_array_index(addresses, i);
		char *p = address_valid(a)      ? dk_sieve_address_part(a, part)
		          : part == DK_PART_ALL ? g_strdup(a)
		                                : NULL;
		if (p)
			g_ptr_array_add(out, p);
	}
}

/* The addresses of one header, parsed once per run. */
static GPtrArray *header_addresses(DkSieveInterp *ip, const char *name)
{
	g_autofree char *key = g_ascii_strdown(name, -1);
	GPtrArray *addresses = g_hash_table_lookup(ip->addresses, key);
	if (addresses != NULL)
		return addresses;
	addresses = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) raw = g_ptr_array_new_with_free_func(g_free);
	dk_sieve_header_values(ip, name, raw);
	for (guint i = 0; i < raw->len; i++) {
		const char *value = g_ptr_array_index(raw, i);
		guint before = addresses->len;
		InternetAddressList *list = internet_address_list_parse(NULL, value);
		if (list != NULL) {
			add_mailboxes(list, addresses, 0);
			g_object_unref(list);
		}
		if (addresses->len == before) /* nothing readable: the value itself */
			g_ptr_array_add(addresses, g_strdup(value));
	}
	g_hash_table_insert(ip->addresses, g_steal_pointer(&key), addresses);
	return addresses;
}

static gboolean test_address(DkSieveInterp *ip, const DkSieveNode *node)
{
	g_autoptr(GPtrArray) names = dk_sieve_expand_list(ip, dk_sieve_node_arg(node, 0));
	g_autoptr(GPtrArray) values = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; i < names->len; i++)
		add_parts(header_addresses(ip, g_ptr_array_index(names, i)), node->match.part,
		          values);
	return dk_sieve_match_values(ip, node, values, dk_sieve_node_arg(node, 1));
}

/* envelope: "from" and "to" (RFC 5228 section 5.4); the null reverse path
 * is the empty string, also for :localpart and :domain. */
static gboolean test_envelope(DkSieveInterp *ip, const DkSieveNode *node)
{
	g_autoptr(GPtrArray) parts = dk_sieve_expand_list(ip, dk_sieve_node_arg(node, 0));
	g_autoptr(GPtrArray) values = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; i < parts->len; i++) {
		const char *which = g_ptr_array_index(parts, i);
		const char *addr = g_ascii_strcasecmp(which, "from") == 0 ? ip->input->envelope_from
		                   : g_ascii_strcasecmp(which, "to") == 0 ? ip->input->envelope_to
		                                                          : NULL;
		if (addr == NULL)
			continue;
		if (*addr == '\0') {
			if (node->match.part != DK_PART_DETAIL)
				g_ptr_array_add(values, g_strdup(""));
			continue;
		}
		char *p = dk_sieve_address_part(addr, node->match.part);
		if (p)
			g_ptr_array_add(values, p);
	}
	return dk_sieve_match_values(ip, node, values, dk_sieve_node_arg(node, 1));
}

static gboolean validate_envelope(DkSieveValidator *v, DkSieveNode *node)
{
	const DkSieveArg *parts = dk_sieve_node_arg(node, 0);
	if (!dk_sieve_arg_constant(v, parts))
		return TRUE;
	for (guint i = 0; i < parts->strings->len; i++) {
		const char *p = g_ptr_array_index(parts->strings, i);
		if (g_ascii_strcasecmp(p, "from") != 0 && g_ascii_strcasecmp(p, "to") != 0) {
			dk_sieve_validator_error(
			    v, parts->line, parts->column,
			    "unknown envelope part '%s': expected \"from\" or \"to\"", p);
			return FALSE;
		}
	}
	return TRUE;
}

static const DkSieveArgType address_args[] = {DK_ARGT_LIST, DK_ARGT_LIST};

const DkSieveDef dk_sieve_tst_address = {
    .name = "address",
    .is_test = TRUE,
    .groups = DK_TAGS_MATCH | DK_TAGS_COMPARATOR | DK_TAGS_ADDRESS,
    .min_args = 2,
    .max_args = 2,
    .args = address_args,
    .validate = validate_address,
    .test = test_address,
};

const DkSieveDef dk_sieve_tst_envelope = {
    .name = "envelope",
    .extension = "envelope",
    .is_test = TRUE,
    .groups = DK_TAGS_MATCH | DK_TAGS_COMPARATOR | DK_TAGS_ADDRESS,
    .min_args = 2,
    .max_args = 2,
    .args = address_args,
    .validate = validate_envelope,
    .test = test_envelope,
};
