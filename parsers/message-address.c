/* The addresses of a message: From, Reply-To, To and Cc read with GMime,
 * and a sender recovered from From fields that GMime finds no mailbox in
 * (RFC 5322 section 3.4, read leniently: parsers/DEVIATIONS.md). */
#include "parsers/charset.h"
#include "parsers/message-private.h"

#include <string.h>

/* The longest From value the repair looks at. */
#define REPAIR_MAX 998

static DkAddress *address_new(InternetAddressMailbox *mb)
{
	/* Punycode domains (xn--) are shown in Unicode; the conversion is
	 * slow, so only they pay for it. */
	const char *addr = internet_address_mailbox_get_addr(mb);
	if (addr != NULL && strstr(addr, "xn--") != NULL)
		addr = internet_address_mailbox_get_idn_addr(mb);
	if (addr == NULL || *addr == '\0' || !g_utf8_validate(addr, -1, NULL))
		return NULL;
	DkAddress *a = g_new0(DkAddress, 1);
	const char *at = strrchr(addr, '@');
	if (at != NULL) {
		g_autofree char *domain = g_utf8_strdown(at + 1, -1);
		a->address = g_strdup_printf("%.*s@%s", (int)(at - addr), addr, domain);
	} else {
		a->address = g_strdup(addr);
	}
	const char *name = internet_address_get_name(INTERNET_ADDRESS(mb));
	if (name != NULL && *name) {
		a->name = g_utf8_make_valid(name, -1);
		for (char *p = a->name; *p; p++) /* an encoded CR/LF is no line break in a name */
			if ((guchar)*p < 0x20 || *p == 0x7F)
				*p = ' ';
		g_strstrip(a->name);
		if (*a->name == '\0' || g_strcmp0(a->name, a->address) == 0)
			g_clear_pointer(&a->name, g_free);
	}
	return a;
}

/* Mailboxes in order; groups (RFC 5322 section 3.4) are flattened. */
static void collect_addresses(InternetAddressList *list, GPtrArray *out, guint depth)
{
	if (list == NULL || depth > 4)
		return;
	int n = internet_address_list_length(list);
	for (int i = 0; i < n; i++) {
		InternetAddress *ia = internet_address_list_get_address(list, i);
		if (INTERNET_ADDRESS_IS_GROUP(ia)) {
			InternetAddressList *members =
			    internet_address_group_get_members(INTERNET_ADDRESS_GROUP(ia));
			collect_addresses(members, out, depth + 1);
		} else if (INTERNET_ADDRESS_IS_MAILBOX(ia)) {
			DkAddress *a = address_new(INTERNET_ADDRESS_MAILBOX(ia));
			if (a != NULL)
				g_ptr_array_add(out, a);
		}
	}
}

DkAddress *dk_message_first_address(InternetAddressList *list)
{
	g_autoptr(GPtrArray) all = g_ptr_array_new_with_free_func((GDestroyNotify)dk_address_free);
	collect_addresses(list, all, 0);
	return all->len > 0 ? g_ptr_array_steal_index(all, 0) : NULL;
}

/* Whether an address list's raw value needs preparing before GMime reads
 * it: raw 8-bit text that is not UTF-8 (GMime would read it as the
 * fallback charset), or an encoded word whose text holds a character that
 * separates addresses (Outlook writes "=?iso-8859-1?Q?M=FCller,_Hans?="
 * with the comma bare, and GMime splits the name in two there). */
static gboolean needs_preparing(const char *raw)
{
	gboolean eight_bit = FALSE, words = FALSE;
	for (const char *p = raw; *p; p++) {
		eight_bit |= (guchar)*p >= 0x80;
		words |= p[0] == '=' && p[1] == '?';
	}
	return (eight_bit && !g_utf8_validate(raw, -1, NULL)) || words;
}

/* raw as UTF-8, with the specials inside Q-encoded words hex-escaped
 * (RFC 2047 section 5 (3) forbids them there). */
static char *prepare(DkParseContext *c, const char *raw)
{
	g_autofree char *utf8 =
	    g_utf8_validate(raw, -1, NULL)
	        ? g_strdup(raw)
	        : dk_charset_header_to_utf8(raw, strlen(raw),
	                                    (const char *const *)c->m->header_charsets,
	                                    c->fallback_charset);
	GString *out = g_string_sized_new(strlen(utf8) + 16);
	gboolean in_word = FALSE;
	guint marks = 0; /* '?' seen inside the current word */
	for (const char *p = utf8; *p; p++) {
		if (!in_word && p[0] == '=' && p[1] == '?') {
			in_word = TRUE;
			marks = 0;
			g_string_append(out, "=?");
			p++;
			continue;
		}
		if (in_word && *p == '?') {
			if (marks == 2 && p[1] == '=') {
				g_string_append(out, "?=");
				p++;
				in_word = FALSE;
				continue;
			}
			marks++;
		} else if (in_word && marks == 2 && strchr(",;:<>@\"()[]\\", *p) != NULL) {
			g_string_append_printf(out, "=%02X", (guchar)*p);
			continue;
		}
		g_string_append_c(out, *p);
	}
	return g_string_free(out, FALSE);
}

/* The address list of header name: GMime's own, read while it built the
 * message, unless the raw value needs preparing. Owned by the caller. */
static InternetAddressList *read_list(DkParseContext *c, GMimeMessage *gm, const char *name,
                                      GMimeAddressType type)
{
	const char *raw = dk_message_raw_header(GMIME_OBJECT(gm), name);
	if (raw == NULL)
		return NULL;
	if (type != (GMimeAddressType)-1 && !needs_preparing(raw)) {
		InternetAddressList *list = g_mime_message_get_addresses(gm, type);
		return list ? g_object_ref(list) : NULL;
	}
	g_autofree char *prepared = needs_preparing(raw) ? prepare(c, raw) : NULL;
	return internet_address_list_parse(c->gmime_options, prepared ? prepared : raw);
}

static void read_all(DkParseContext *c, GMimeMessage *gm, const char *name, GMimeAddressType type,
                     GPtrArray *out)
{
	InternetAddressList *list = read_list(c, gm, name, type);
	collect_addresses(list, out, 0);
	if (list != NULL)
		g_object_unref(list);
}

static DkAddress *read_first(DkParseContext *c, GMimeMessage *gm, const char *name,
                             GMimeAddressType type)
{
	g_autoptr(GPtrArray) all = g_ptr_array_new_with_free_func((GDestroyNotify)dk_address_free);
	read_all(c, gm, name, type, all);
	return all->len > 0 ? g_ptr_array_steal_index(all, 0) : NULL;
}

static gboolean is_edge_junk(char ch)
{
	return strchr(" \t<>\"'(),;:[]", ch) != NULL;
}

/* An address as a person reads it: surrounding junk and the dots a
 * sentence put after the domain removed, runs of spaces made one, the
 * domain lower-cased; NULL when there is no local part and domain. */
static char *clean_address(const char *s, gsize len)
{
	while (len > 0 && is_edge_junk(*s)) {
		s++;
		len--;
	}
	while (len > 0 && (is_edge_junk(s[len - 1]) || s[len - 1] == '.'))
		len--;
	const char *at = g_strrstr_len(s, (gssize)len, "@");
	if (at == NULL || at == s || at + 1 == s + len)
		return NULL;
	for (const char *p = at + 1; p < s + len; p++)
		if (*p == ' ' || *p == '\t' || *p == '<' || *p == '>')
			return NULL;
	GString *out = g_string_sized_new(len);
	for (const char *p = s; p < at; p++) {
		if (*p == ' ' || *p == '\t') {
			if (out->len > 0 && out->str[out->len - 1] != ' ')
				g_string_append_c(out, ' ');
		} else {
			g_string_append_c(out, *p);
		}
	}
	g_autofree char *domain = g_utf8_strdown(at + 1, (gssize)(s + len - at - 1));
	g_string_append_printf(out, "@%s", domain);
	return g_string_free(out, FALSE);
}

static char *clean_name(const char *s, gsize len, const char *fallback)
{
	g_autofree char *raw = g_strndup(s, len);
	g_strstrip(raw);
	g_autofree char *decoded =
	    strstr(raw, "=?") ? dk_header_decode_words(raw, fallback) : g_strdup(raw);
	for (char *p = decoded; *p; p++)
		if ((guchar)*p < 0x20 || *p == 0x7F || *p == '"')
			*p = ' ';
	g_strstrip(decoded);
	return *decoded && g_utf8_validate(decoded, -1, NULL) ? g_steal_pointer(&decoded) : NULL;
}

/* The address in a From value GMime found no mailbox in: the text inside
 * angle brackets when it has an '@' ("name" <local part with
 * spaces@example.com>), else the first word with an '@' ("Test
 * test@example.com"), with the words before it as the name. When there
 * is no address at all, only the name ("=?GB2312?B?ztI=?=" <>). */
static DkAddress *repair(const char *text, const char *fallback)
{
	gsize len = strlen(text);
	const char *lt = strchr(text, '<');
	const char *gt = lt ? strchr(lt, '>') : NULL;
	char *address = NULL;
	gsize name_end = len;
	if (lt != NULL) {
		address = clean_address(lt + 1, (gsize)((gt ? gt : text + len) - lt - 1));
		name_end = (gsize)(lt - text);
	}
	if (address == NULL) {
		const char *at = memchr(text, '@', name_end);
		if (at != NULL) {
			const char *start = at, *end = at;
			while (start > text && start[-1] != ' ' && start[-1] != '\t' &&
			       start[-1] != '"')
				start--;
			while (end < text + name_end && *end != ' ' && *end != '\t' && *end != '"')
				end++;
			address = clean_address(start, (gsize)(end - start));
			if (address != NULL)
				name_end = (gsize)(start - text);
		}
	}
	g_autofree char *name = clean_name(text, name_end, fallback);
	if (address == NULL && name == NULL)
		return NULL;
	DkAddress *a = g_new0(DkAddress, 1);
	a->address = address;
	if (name != NULL && g_strcmp0(name, address) != 0)
		a->name = g_steal_pointer(&name);
	return a;
}

static void note_repair(DkParseContext *c, const char *what)
{
	c->m->from_repaired = TRUE;
	g_ptr_array_add(c->m->repairs, g_strdup(what));
}

/* Whether address is written in the first address of the raw list: GMime
 * drops a first entry it cannot read ("Test test@example.com, other@x")
 * and would make the second one the sender. */
static gboolean in_first_segment(const char *raw, const char *address)
{
	gsize len = 0;
	gboolean quoted = FALSE;
	guint word = 0; /* inside an encoded word, whose text may hold a bare comma: '?' seen + 1 */
	for (guint angle = 0; raw[len] != '\0'; len++) {
		char ch = raw[len];
		if (word == 0 && !quoted && ch == '=' && raw[len + 1] == '?') {
			word = 1;
			len++;
		} else if (word > 0 && ch == '?') {
			if (word >= 3 && raw[len + 1] == '=') {
				word = 0;
				len++;
			} else {
				word++;
			}
		} else if (word > 0) {
			continue;
		} else if (ch == '"')
			quoted = !quoted;
		else if (ch == '<' && !quoted)
			angle++;
		else if (ch == '>' && !quoted && angle > 0)
			angle--;
		else if (ch == ',' && !quoted && angle == 0)
			break;
	}
	const char *at = strrchr(address, '@');
	gsize local = at ? (gsize)(at - address) : strlen(address);
	/* the local part as written (the domain may have been lower-cased,
	 * a Unicode domain may be written in Punycode) */
	for (gsize i = 0; i + local <= len; i++)
		if (strncmp(raw + i, address, local) == 0)
			return TRUE;
	return FALSE;
}

/* The raw From value repaired (see repair()), or NULL. */
static DkAddress *repair_from(DkParseContext *c, const char *raw)
{
	g_autofree char *text = g_mime_utils_header_unfold(raw);
	if (strlen(text) > REPAIR_MAX)
		text[REPAIR_MAX] = '\0';
	if (!g_utf8_validate(text, -1, NULL)) {
		char *utf8 = dk_charset_header_to_utf8(text, strlen(text),
		                                       (const char *const *)c->m->header_charsets,
		                                       c->fallback_charset);
		g_free(text);
		text = utf8;
	}
	return repair(text, c->fallback_charset);
}

/* Sender, then Return-Path, for a From without an address; the name
 * From had (named, when given) is kept. */
static void from_sender(DkParseContext *c, GMimeMessage *gm, DkAddress *named)
{
	DkMessage *m = c->m;
	static const char *const senders[] = {"Sender", "Return-Path", NULL};
	for (guint i = 0; senders[i] != NULL && m->from == NULL; i++) {
		DkAddress *other = read_first(c, gm, senders[i], (GMimeAddressType)-1);
		if (other == NULL || strchr(other->address, '@') == NULL) {
			dk_address_free(other);
			continue;
		}
		if (named != NULL) {
			g_free(other->name);
			other->name = g_steal_pointer(&named->name);
			g_autofree char *what =
			    g_strdup_printf("From: no address; taken from %s", senders[i]);
			note_repair(c, what);
		}
		m->from = other;
	}
	if (m->from == NULL && named != NULL)
		g_ptr_array_add(m->repairs,
		                g_strdup("From: a name without an address; no sender known"));
}

/* From, repaired when GMime found no address in it; else Sender, then
 * Return-Path. */
static void read_from(DkParseContext *c, GMimeMessage *gm)
{
	DkMessage *m = c->m;
	m->from = read_first(c, gm, "From", GMIME_ADDRESS_TYPE_FROM);
	const char *raw = dk_message_raw_header(GMIME_OBJECT(gm), "From");
	if ((m->from != NULL && strchr(m->from->address, '@') != NULL &&
	     in_first_segment(raw, m->from->address)) ||
	    raw == NULL) {
		if (m->from == NULL)
			from_sender(c, gm, NULL);
		return;
	}
	DkAddress *fixed = repair_from(c, raw);
	if (fixed != NULL && fixed->address != NULL) {
		dk_address_free(m->from);
		m->from = fixed;
		note_repair(c, "From: address recovered from a malformed field");
		return;
	}
	if (m->from == NULL)
		from_sender(c, gm, fixed);
	dk_address_free(fixed);
}

void dk_message_read_addresses(DkParseContext *c, GMimeMessage *gm)
{
	DkMessage *m = c->m;
	read_from(c, gm);
	m->reply_to = read_first(c, gm, "Reply-To", GMIME_ADDRESS_TYPE_REPLY_TO);
	read_all(c, gm, "To", GMIME_ADDRESS_TYPE_TO, m->to);
	read_all(c, gm, "Cc", GMIME_ADDRESS_TYPE_CC, m->cc);
}
