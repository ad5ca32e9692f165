/* Authentication-Results (RFC 8601): a parser that follows the header's
 * grammar (section 2.2), with quoted strings and nested comments that may
 * hold ";", "(" and "=", and the check that decides whether a message's
 * From is vouched for by our own mail server: DKIM or SPF passing for a
 * domain aligned with the From's (DMARC's strict or relaxed alignment,
 * RFC 7489 section 3.1).
 *
 * Pure functions over header values; the policy (who is an agent, which
 * authserv-id is ours) is the gateway's. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
	char *ptype;    /* "smtp", "header", "body", "policy", lower-cased */
	char *property; /* "mailfrom", "d", "i", "from", lower-cased */
	char *value;    /* as written, quotes removed ("user@example.com") */
} DkAuthresProperty;

typedef struct {
	char *method;          /* "dkim", "spf", "dmarc", lower-cased */
	char *result;          /* "pass", "fail", "none", lower-cased */
	char *reason;          /* or NULL */
	GPtrArray *properties; /* of DkAuthresProperty*, in order */
} DkAuthresResult;

typedef struct {
	char *authserv_id;  /* as written, quotes removed */
	int version;        /* 1 unless given */
	GPtrArray *results; /* of DkAuthresResult*; empty for "none" */
	guint invalid;      /* resinfos skipped as malformed (to the next ";") */
} DkAuthres;

/* Parses one header value (what follows "Authentication-Results:").
 * Comments are skipped wherever CFWS may stand; quoted strings and
 * comments hide ";". A malformed resinfo is skipped up to the next ";"
 * outside quotes and comments and counted in invalid; a malformed
 * authserv-id or version is an error (DK_PARSE_ERROR): such a header
 * counts for nothing. At most 64 results are read. Free with
 * dk_authres_free(). */
DkAuthres *dk_authres_parse(const char *value, GError **error);

void dk_authres_free(DkAuthres *ar);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DkAuthres, dk_authres_free)

/* The value of property ptype.property of r, or NULL. */
const char *dk_authres_result_property(const DkAuthresResult *r, const char *ptype,
                                       const char *property);

/* Whether two domains align: equal (case-insensitive, a trailing dot
 * ignored); with relaxed, also one a subdomain of the other when the
 * shorter has at least two labels ("example.com" aligns with
 * "mail.example.com"; "com" with nothing). Relaxed alignment goes without
 * the public-suffix list, so it is looser than DMARC's for domains under a
 * two-label public suffix ("co.uk"). */
gboolean dk_authres_aligned(const char *a, const char *b, gboolean relaxed);

typedef enum {
	DK_AUTHRES_PASS,     /* one header from authserv_id with an aligned pass */
	DK_AUTHRES_NONE,     /* no header from authserv_id */
	DK_AUTHRES_NO_PASS,  /* one, without an aligned DKIM or SPF pass */
	DK_AUTHRES_AMBIGUOUS /* more than one from authserv_id, or one malformed */
} DkAuthresVerdict;

/* Reads the Authentication-Results values of one message (of char*, in
 * header order; NULL for none) and decides whether our server, the one
 * whose authserv-id is authserv_id, vouches for from_domain: exactly one
 * value from authserv_id (our MTA removes or renames such headers arriving
 * from outside, RFC 8601 section 5; two mean one came from elsewhere), and
 * in it dkim=pass with header.d (or, without it, the domain of header.i)
 * aligned with from_domain, or spf=pass with the domain of smtp.mailfrom
 * aligned with it (dk_authres_aligned with relaxed). *method_out (may be NULL) is set to "dkim" or
 * "spf" on a pass, to a static string. */
DkAuthresVerdict dk_authres_verify(const GPtrArray *values, const char *authserv_id,
                                   const char *from_domain, gboolean relaxed,
                                   const char **method_out);

/* A sentence on a verdict that is not a pass, for events and logs. */
const char *dk_authres_verdict_reason(DkAuthresVerdict verdict);

G_END_DECLS
