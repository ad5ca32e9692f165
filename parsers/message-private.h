/* What message.c and message-body.c share while one message is parsed. */
#pragma once

#include "parsers/message.h"
#include "parsers/digest.h"

#include <gmime/gmime.h>

G_BEGIN_DECLS

typedef struct {
	DkMessage *m;
	GBytes *raw;          /* the bytes GMime parsed (borrowed), or NULL when
	                       * they are read from a file: */
	GMimeStream *source;  /* then the stream of that file (borrowed) */
	gsize source_len;     /* and the bytes of it GMime parsed */
	const char *boundary; /* of the multipart being walked, or NULL */
	GMimeParserOptions *gmime_options;
	const char *fallback_charset;
	guint max_depth;
	guint max_parts;
	gsize max_decoded;
	gsize max_text; /* bytes of each text kept */
	guint max_millis;
	gint64 deadline;  /* g_get_monotonic_time() past which the walk stops */
	guint parts;      /* MIME parts seen so far */
	gsize decoded;    /* bytes of decoded text and attachments so far */
	gboolean stopped; /* a limit ended the walk */
	GString *text;    /* the inline text parts, joined */
	GString *new_text;
	GString *quoted_text;
	char *tnef_body;             /* the body of a winmail.dat, for text-less mail */
	int (*spill)(gpointer data); /* the options' spill, its data and threshold */
	gpointer spill_data;
	gsize spill_min;
	gsize spill_end; /* bytes of the message's spill file written */
} DkParseContext;

/* Adds a problem to the message's errors, once per distinct message. */
void dk_parse_context_error(DkParseContext *c, const char *format, ...) G_GNUC_PRINTF(2, 3);

/* Walks the MIME tree below body: fills the message's text, new_text,
 * quoted_text, html flag and attachments, within the context's limits. */
void dk_message_body_read(DkParseContext *c, GMimeObject *body);

/* At most max bytes of w's content, transfer encoding removed: a large
 * part is read only as far as needed. */
GByteArray *dk_message_read_decoded(GMimeDataWrapper *w, gsize max);

/* A part's whole decoded content (GBytes), kept on the GMimePart as qdata
 * under this quark by the body walk, so that later readers in the same
 * parse (the bounce classifier) do not decode it again; absent when the
 * part was not decoded whole. */
GQuark dk_message_decoded_quark(void);

/* Fills the message's crypto.kind and protocol from the structure below
 * body (message-crypto.c); an encrypted message's texts become
 * DK_MESSAGE_ENCRYPTED_MARKER. Call after dk_message_body_read(). */
void dk_message_crypto_read(DkParseContext *c, GMimeObject *body);

/* Fills the message's from (repaired when malformed, see
 * message-address.c), reply_to, to and cc. */
void dk_message_read_addresses(DkParseContext *c, GMimeMessage *gm);

/* The first mailbox of an address list, normalised, or NULL. */
DkAddress *dk_message_first_address(InternetAddressList *list);

/* The raw (folded, undecoded) value of obj's first header called name,
 * or NULL. */
const char *dk_message_raw_header(GMimeObject *obj, const char *name);

/* A header value decoded to UTF-8: unfolded, raw 8-bit text read by
 * dk_charset_header_to_utf8() with charsets (NULL-terminated, or NULL),
 * RFC 2047 encoded words decoded (dk_header_decode_words), controls made
 * spaces, surrounding whitespace removed (message-header.c). */
char *dk_header_decode(const char *raw, const char *const *charsets, const char *fallback);

/* s (UTF-8) with its RFC 2047 encoded words decoded: broken ones too
 * (inside words, with spaces, without base64 padding); adjacent words of
 * one charset joined as bytes before conversion; each charset label
 * checked against its bytes as dk_charset_to_utf8() does. */
char *dk_header_decode_words(const char *s, const char *fallback);

/* dk_header_decode() with the message's charsets and fallback. */
char *dk_message_decode_header(DkParseContext *c, const char *raw);

/* The parse shared by dk_message_parse() and dk_message_parse_fd(), after
 * the header scan: GMime reads stream (parse_len of the n bytes; raw, when
 * given, is the same bytes in memory, for slicing attached messages). Takes
 * fresh (its fingerprint already set). */
DkMessage *dk_message_parse_stream(DkMessage *fresh, GMimeStream *stream, GBytes *raw,
                                   gsize parse_len, gsize n, const DkParseOptions *o,
                                   GError **error);

/* An empty DkMessage with its arrays and table made. */
DkMessage *dk_message_new_empty(void);

/* Checks the header block at the start of p (RFC 5322 section 2.2),
 * feeding its non-trace lines, LF-terminated, to sum; *body_out is where
 * the body starts. */
gboolean dk_message_scan_head(const guint8 *p, gsize n, gsize max_header, DkSha256 *sum,
                              gsize *body_out, GError **error);

/* Where the header block starts in the n bytes at p: after a UTF-8 byte
 * order mark, and after up to five lines of junk ("---- Original email
 * message ----", an mbox "From " line) when real header fields follow
 * them; 0 when the input starts with a header field or no header block
 * is found near the start. */
gsize dk_message_junk_prefix(const guint8 *p, gsize n);

/* Lists in m's repairs that the len bytes at p were skipped. */
void dk_message_note_junk(DkMessage *m, const guint8 *p, gsize len);

/* Feeds body bytes to the fingerprint, CRLF as LF (see message.c). */
void dk_message_checksum_body(DkSha256 *sum, const guint8 *p, gsize n, gboolean last);

/* How many lines starting with "--" GMime is given at most. */
gsize dk_message_boundary_allowance(guint max_parts);

/* TRUE when the first line ends in a bare CR (old Mac OS mail). */
gboolean dk_message_bare_cr(const guint8 *p, gsize n);

G_END_DECLS
