/* What message.c and message-body.c share while one message is parsed. */
#pragma once

#include "parsers/message.h"

#include <gmime/gmime.h>

G_BEGIN_DECLS

typedef struct {
	DkMessage *m;
	GBytes *raw;       /* the bytes GMime parsed (borrowed) */
	const char *boundary; /* of the multipart being walked, or NULL */
	GMimeParserOptions *gmime_options;
	const char *fallback_charset;
	const char *header_charset; /* the body's, for raw 8-bit headers, or NULL */
	guint max_depth;
	guint max_parts;
	gsize max_decoded;
	gsize max_text;    /* bytes of each text kept */
	guint max_millis;
	gint64 deadline;   /* g_get_monotonic_time() past which the walk stops */
	guint parts;       /* MIME parts seen so far */
	gsize decoded;     /* bytes of decoded text and attachments so far */
	gboolean stopped;  /* a limit ended the walk */
	GString *text;     /* the inline text parts, joined */
	GString *new_text;
	GString *quoted_text;
	char *tnef_body;   /* the body of a winmail.dat, for text-less mail */
} DkParseContext;

/* Adds a problem to the message's errors, once per distinct message. */
void dk_parse_context_error(DkParseContext *c, const char *format, ...) G_GNUC_PRINTF(2, 3);

/* Walks the MIME tree below body: fills the message's text, new_text,
 * quoted_text, html flag and attachments, within the context's limits. */
void dk_message_body_read(DkParseContext *c, GMimeObject *body);

/* At most max bytes of w's content, transfer encoding removed: a large
 * part is read only as far as needed. */
GByteArray *dk_message_read_decoded(GMimeDataWrapper *w, gsize max);

/* The first mailbox of an address list, normalised, or NULL. */
DkAddress *dk_message_first_address(InternetAddressList *list);

/* The raw (folded, undecoded) value of obj's first header called name,
 * or NULL. */
const char *dk_message_raw_header(GMimeObject *obj, const char *name);

/* A header value decoded to UTF-8: unfolded, RFC 2047 encoded words
 * (repaired when broken) decoded, raw 8-bit text read as UTF-8 or the
 * fallback charset, surrounding whitespace removed. */
char *dk_message_decode_header(DkParseContext *c, const char *raw);

G_END_DECLS
