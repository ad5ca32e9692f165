/* Authentication-Results (RFC 8601 section 2.2) read by its grammar, and
 * the aligned-pass check on top of it. */
#include "parsers/authres.h"

#include "parsers/message.h"

#include <string.h>

#define MAX_RESULTS 64
#define MAX_PROPERTIES 32
#define MAX_COMMENT_DEPTH 32

typedef struct {
	const char *p;
} Cur;

/* CFWS (RFC 5322 section 3.2.2): blanks, line breaks and comments, which
 * nest and take quoted pairs. FALSE on a comment that never ends. */
static gboolean skip_cfws(Cur *c)
{
	for (;;) {
		while (*c->p == ' ' || *c->p == '\t' || *c->p == '\r' || *c->p == '\n')
			c->p++;
		if (*c->p != '(')
			return TRUE;
		int depth = 0;
		do {
			if (*c->p == '\0')
				return FALSE;
			if (*c->p == '\\' && c->p[1] != '\0')
				c->p++;
			else if (*c->p == '(' && ++depth > MAX_COMMENT_DEPTH)
				return FALSE;
			else if (*c->p == ')')
				depth--;
			c->p++;
		} while (depth > 0);
	}
}

/* RFC 2045 tspecials, blanks and controls end a token. */
static gboolean token_char(char ch)
{
	return (guchar)ch > 0x20 && ch != 0x7f && strchr("()<>@,;:\\\"/[]?=", ch) == NULL;
}

static char *read_token(Cur *c)
{
	const char *start = c->p;
	while (token_char(*c->p))
		c->p++;
	return c->p > start ? g_strndup(start, c->p - start) : NULL;
}

/* A quoted string (c->p at its opening quote), without the quotes and with
 * its quoted pairs undone; NULL when it never ends. */
static char *read_quoted(Cur *c)
{
	GString *out = g_string_new(NULL);
	for (c->p++; *c->p != '"'; c->p++) {
		if (*c->p == '\0') {
			g_string_free(out, TRUE);
			return NULL;
		}
		if (*c->p == '\\' && c->p[1] != '\0')
			c->p++;
		g_string_append_c(out, *c->p);
	}
	c->p++;
	return g_string_free(out, FALSE);
}

/* value = token / quoted-string (RFC 2045). */
static char *read_value(Cur *c)
{
	return *c->p == '"' ? read_quoted(c) : read_token(c);
}

/* Keyword = ldh-str (RFC 8601 section 2.2), lower-cased. */
static char *read_keyword(Cur *c)
{
	const char *start = c->p;
	while (g_ascii_isalnum(*c->p) || *c->p == '-' || *c->p == '_')
		c->p++;
	return c->p > start ? g_ascii_strdown(start, c->p - start) : NULL;
}

static gboolean expect(Cur *c, char ch)
{
	if (!skip_cfws(c) || *c->p != ch)
		return FALSE;
	c->p++;
	return skip_cfws(c);
}

/* The characters of an unquoted pvalue: an address's local part (atext
 * and "."), "@", a domain, an IP literal. */
static gboolean pvalue_char(char ch)
{
	return (guchar)ch > 0x20 && ch != 0x7f && strchr(";()\"\\", ch) == NULL;
}

/* pvalue = [CFWS] ( value / [ [ local-part ] "@" ] domain-name ) [CFWS]:
 * a quoted local part keeps whatever it holds, and only what follows its
 * closing quote can be the domain. */
static char *read_pvalue(Cur *c)
{
	g_autofree char *local = NULL;
	if (*c->p == '"') {
		if ((local = read_quoted(c)) == NULL)
			return NULL;
		if (*c->p != '@')
			return g_steal_pointer(&local);
	}
	const char *start = c->p;
	while (pvalue_char(*c->p))
		c->p++;
	if (c->p == start)
		return NULL;
	g_autofree char *rest = g_strndup(start, c->p - start);
	return local ? g_strconcat(local, rest, NULL) : g_steal_pointer(&rest);
}

static void property_free(gpointer p)
{
	DkAuthresProperty *prop = p;
	g_free(prop->ptype);
	g_free(prop->property);
	g_free(prop->value);
	g_free(prop);
}

static void result_free(gpointer p)
{
	DkAuthresResult *r = p;
	if (r == NULL)
		return;
	g_free(r->method);
	g_free(r->result);
	g_free(r->reason);
	g_ptr_array_unref(r->properties);
	g_free(r);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DkAuthresResult, result_free)

/* propspec = ptype [CFWS] "." [CFWS] property [CFWS] "=" pvalue, or the
 * reasonspec "reason" [CFWS] "=" [CFWS] value. */
static gboolean read_propspec(Cur *c, DkAuthresResult *r)
{
	g_autofree char *ptype = read_keyword(c);
	if (ptype == NULL || !skip_cfws(c))
		return FALSE;
	if (strcmp(ptype, "reason") == 0 && *c->p == '=' && r->reason == NULL) {
		if (!expect(c, '=') || (r->reason = read_value(c)) == NULL)
			return FALSE;
		return skip_cfws(c);
	}
	if (!expect(c, '.'))
		return FALSE;
	g_autofree char *property = read_keyword(c);
	if (property == NULL || !expect(c, '='))
		return FALSE;
	g_autofree char *value = read_pvalue(c);
	if (value == NULL || r->properties->len >= MAX_PROPERTIES)
		return FALSE;
	DkAuthresProperty *prop = g_new0(DkAuthresProperty, 1);
	prop->ptype = g_steal_pointer(&ptype);
	prop->property = g_steal_pointer(&property);
	prop->value = g_steal_pointer(&value);
	g_ptr_array_add(r->properties, prop);
	return skip_cfws(c);
}

/* resinfo after its ";": methodspec [ CFWS reasonspec ] [ CFWS 1*propspec ],
 * methodspec = method [ "/" method-version ] "=" result. */
static DkAuthresResult *read_resinfo(Cur *c)
{
	g_autoptr(DkAuthresResult) r = g_new0(DkAuthresResult, 1);
	r->properties = g_ptr_array_new_with_free_func(property_free);
	if ((r->method = read_keyword(c)) == NULL || !skip_cfws(c))
		return NULL;
	if (*c->p == '/') {
		c->p++;
		if (!skip_cfws(c) || !g_ascii_isdigit(*c->p))
			return NULL;
		while (g_ascii_isdigit(*c->p))
			c->p++;
	}
	if (!expect(c, '=') || (r->result = read_keyword(c)) == NULL || !skip_cfws(c))
		return NULL;
	while (*c->p != '\0' && *c->p != ';') {
		if (!read_propspec(c, r))
			return NULL;
	}
	return g_steal_pointer(&r);
}

/* After a malformed resinfo: on to the next ";" that is neither quoted nor
 * in a comment, so that a bad resinfo cannot make a good one appear. */
static void skip_resinfo(Cur *c)
{
	while (*c->p != '\0' && *c->p != ';') {
		if (*c->p == '"') {
			g_autofree char *q = read_quoted(c);
			if (q == NULL)
				c->p += strlen(c->p);
		} else if (*c->p == '(') {
			if (!skip_cfws(c))
				c->p += strlen(c->p);
		} else {
			c->p++;
		}
	}
}

/* authserv-id [ CFWS authres-version ]. */
static gboolean read_head(Cur *c, DkAuthres *ar, GError **error)
{
	if (!skip_cfws(c) || (ar->authserv_id = read_value(c)) == NULL) {
		g_set_error(error, DK_PARSE_ERROR, 0, "Authentication-Results: no authserv-id");
		return FALSE;
	}
	if (!skip_cfws(c))
		goto bad;
	if (g_ascii_isdigit(*c->p)) {
		ar->version = 0;
		while (g_ascii_isdigit(*c->p) && ar->version < 1000)
			ar->version = ar->version * 10 + (*c->p++ - '0');
		if (!skip_cfws(c))
			goto bad;
	}
	if (*c->p == ';' || *c->p == '\0')
		return TRUE;
bad:
	g_set_error(error, DK_PARSE_ERROR, 0,
	            "Authentication-Results: expected \";\" after the authserv-id \"%s\"",
	            ar->authserv_id);
	return FALSE;
}

DkAuthres *dk_authres_parse(const char *value, GError **error)
{
	g_return_val_if_fail(value != NULL, NULL);
	g_autoptr(DkAuthres) ar = g_new0(DkAuthres, 1);
	ar->version = 1;
	ar->results = g_ptr_array_new_with_free_func(result_free);
	Cur c = {value};
	if (!read_head(&c, ar, error))
		return NULL;
	while (*c.p == ';' && ar->results->len < MAX_RESULTS) {
		c.p++;
		if (!skip_cfws(&c)) {
			ar->invalid++;
			break;
		}
		if (*c.p == '\0')
			break; /* a trailing ";" */
		Cur at = c;
		g_autofree char *none = read_keyword(&at);
		if (ar->results->len == 0 && none && strcmp(none, "none") == 0 && skip_cfws(&at) &&
		    *at.p == '\0')
			break; /* no-result */
		DkAuthresResult *r = read_resinfo(&c);
		if (r != NULL) {
			g_ptr_array_add(ar->results, r);
		} else {
			ar->invalid++;
			skip_resinfo(&c);
		}
	}
	return g_steal_pointer(&ar);
}

void dk_authres_free(DkAuthres *ar)
{
	if (ar == NULL)
		return;
	g_free(ar->authserv_id);
	g_ptr_array_unref(ar->results);
	g_free(ar);
}

const char *dk_authres_result_property(const DkAuthresResult *r, const char *ptype,
                                       const char *property)
{
	for (guint i = 0; i < r->properties->len; i++) {
		const DkAuthresProperty *p = g_ptr_array_index(r->properties, i);
		if (strcmp(p->ptype, ptype) == 0 && strcmp(p->property, property) == 0)
			return p->value;
	}
	return NULL;
}

/* A domain without a trailing dot, lower-cased; NULL when empty. */
static char *domain_norm(const char *d)
{
	if (d == NULL)
		return NULL;
	gsize n = strlen(d);
	while (n > 0 && d[n - 1] == '.')
		n--;
	return n > 0 ? g_ascii_strdown(d, n) : NULL;
}

/* Whether sub is a subdomain of parent, at a label boundary. */
static gboolean is_subdomain(const char *sub, const char *parent)
{
	gsize s = strlen(sub), p = strlen(parent);
	return s > p && sub[s - p - 1] == '.' && strcmp(sub + s - p, parent) == 0;
}

gboolean dk_authres_aligned(const char *a, const char *b, gboolean relaxed)
{
	g_autofree char *x = domain_norm(a);
	g_autofree char *y = domain_norm(b);
	if (x == NULL || y == NULL)
		return FALSE;
	if (strcmp(x, y) == 0)
		return TRUE;
	if (!relaxed)
		return FALSE;
	const char *shorter = strlen(x) < strlen(y) ? x : y;
	if (strchr(shorter, '.') == NULL)
		return FALSE; /* a top-level domain vouches for nobody */
	return is_subdomain(x, y) || is_subdomain(y, x);
}

/* The domain of an address ("user@example.com", "@example.com") or the
 * value itself when it has no "@". */
static const char *domain_part(const char *v)
{
	const char *at = v ? strrchr(v, '@') : NULL;
	return at ? at + 1 : v;
}

static const char *aligned_pass(const DkAuthresResult *r, const char *from_domain, gboolean relaxed)
{
	if (strcmp(r->result, "pass") != 0)
		return NULL;
	if (strcmp(r->method, "dkim") == 0) {
		const char *d = dk_authres_result_property(r, "header", "d");
		if (d == NULL)
			d = domain_part(dk_authres_result_property(r, "header", "i"));
		return dk_authres_aligned(d, from_domain, relaxed) ? "dkim" : NULL;
	}
	if (strcmp(r->method, "spf") == 0) {
		const char *mailfrom = dk_authres_result_property(r, "smtp", "mailfrom");
		return dk_authres_aligned(domain_part(mailfrom), from_domain, relaxed) ? "spf"
		                                                                       : NULL;
	}
	return NULL;
}

DkAuthresVerdict dk_authres_verify(const GPtrArray *values, const char *authserv_id,
                                   const char *from_domain, gboolean relaxed,
                                   const char **method_out)
{
	if (method_out != NULL)
		*method_out = NULL;
	g_autoptr(DkAuthres) ours = NULL;
	guint count = 0;
	for (guint i = 0; values != NULL && authserv_id != NULL && i < values->len; i++) {
		g_autoptr(DkAuthres) ar = dk_authres_parse(g_ptr_array_index(values, i), NULL);
		if (ar == NULL || g_ascii_strcasecmp(ar->authserv_id, authserv_id) != 0)
			continue;
		count++;
		if (ours == NULL)
			ours = g_steal_pointer(&ar);
	}
	if (count == 0)
		return DK_AUTHRES_NONE;
	if (count > 1)
		return DK_AUTHRES_AMBIGUOUS;
	for (guint i = 0; from_domain != NULL && i < ours->results->len; i++) {
		const char *method =
		    aligned_pass(g_ptr_array_index(ours->results, i), from_domain, relaxed);
		if (method != NULL) {
			if (method_out != NULL)
				*method_out = method;
			return DK_AUTHRES_PASS;
		}
	}
	return DK_AUTHRES_NO_PASS;
}

const char *dk_authres_verdict_reason(DkAuthresVerdict verdict)
{
	switch (verdict) {
	case DK_AUTHRES_PASS:
		return "DKIM or SPF passed for the sender's domain";
	case DK_AUTHRES_NONE:
		return "no Authentication-Results from our own server";
	case DK_AUTHRES_NO_PASS:
		return "Authentication-Results show no DKIM or SPF pass aligned with the From "
		       "domain";
	case DK_AUTHRES_AMBIGUOUS:
		return "more than one Authentication-Results header carries our own server's id";
	}
	return "unknown";
}
