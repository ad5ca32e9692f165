/* The normalised message: what docket knows about one mail after reading it.
 *
 * dk_message_parse() turns the raw bytes of an RFC 5322 message into a
 * DkMessage: cleaned identifiers, decoded addresses and subject, the best
 * text in UTF-8, attachments and a classification. It is a pure function:
 * no I/O, no store, no configuration beyond the options passed in. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define DK_PARSE_ERROR (dk_parse_error_quark())
GQuark dk_parse_error_quark(void);

typedef enum {
	DK_PARSE_ERROR_NOT_MAIL, /* no header block: not a message at all */
	DK_PARSE_ERROR_LIMIT,    /* a configured limit was exceeded */
	DK_PARSE_ERROR_INVALID,  /* a message, but one docket cannot read */
} DkParseError;

/* Bounds against hostile input; zero means the built-in default. */
typedef struct {
	guint max_depth;              /* MIME nesting depth */
	guint max_parts;              /* MIME parts in total */
	gsize max_header_bytes;       /* size of one header block */
	gsize max_decoded_bytes;      /* decoded text and attachments together */
	guint max_millis;             /* wall time for the walk over the parts */
	const char *fallback_charset; /* for undeclared 8-bit text; default windows-1252 */
	gint64 arrival_time; /* Unix seconds; used when Date is missing or absurd; 0 = now */
	const char *const *own_domains; /* docket's own mail domains, NULL-terminated, for
	                                 * loop detection; NULL for none */
	gsize max_text_bytes;           /* text, new_text and quoted_text each: longer
	                                 * text is cut at a UTF-8 boundary and the cut
	                                 * listed in errors (the raw stays whole) */
	/* Where large attachments go instead of memory (encoded content of
	 * spill_min bytes or more, other than a winmail.dat): at the first,
	 * spill(spill_data) gives a new empty file, read-write
	 * (DkMessage.spill_fd), and each is decoded into it after the one
	 * before (DkAttachment.fd and offset). NULL, or -1 from it, keeps the
	 * content in memory. The one exception to "no I/O" besides reading a
	 * message from a file. */
	int (*spill)(gpointer spill_data);
	gpointer spill_data;
	gsize spill_min; /* 0: DK_PARSE_SPILL_MIN; the tests set less */
} DkParseOptions;

/* The encoded size from which an attachment goes to options' spill, by
 * default. */
#define DK_PARSE_SPILL_MIN (1024 * 1024)

/* The defaults that a zero in DkParseOptions stands for. */
#define DK_PARSE_DEFAULT_MAX_DEPTH 32
#define DK_PARSE_DEFAULT_MAX_PARTS 1000
#define DK_PARSE_DEFAULT_MAX_HEADER_BYTES (1024 * 1024)
#define DK_PARSE_DEFAULT_MAX_DECODED_BYTES (64 * 1024 * 1024)
#define DK_PARSE_DEFAULT_MAX_MILLIS 10000
#define DK_PARSE_DEFAULT_MAX_TEXT_BYTES (1024 * 1024)

typedef struct {
	char *name;    /* decoded display name, UTF-8, or NULL */
	char *address; /* local@domain with the domain lower-cased */
} DkAddress;

typedef struct {
	char *filename;              /* as sent, decoded (see dk_attachment_sent_filename:
	                              * not safe as a path), or generated; NULL only
	                              * for files inside a container without names */
	gboolean filename_generated; /* the part had no name: docket made one */
	char *content_type;          /* type/subtype, lower case */
	char *content_id;            /* without angle brackets, or NULL */
	char *disposition;           /* "attachment" or "inline" */
	gsize size;                  /* decoded size in bytes (0 when not kept) */
	char sha256[65];             /* hex SHA-256 of the decoded content ("" when not kept) */
	GBytes *data;                /* the decoded content; NULL when a limit kept it out
	                              * or it is in fd */
	int fd;                      /* a large content written to the message's spill
	                              * file (DkMessage.spill_fd: its size bytes from
	                              * offset); else -1 */
	gsize offset;
	char *origin;            /* file name of the container it came out of
	                          * (a winmail.dat), or NULL for a MIME part */
	char *message_subject;   /* message/rfc822 only: the attached mail's subject */
	DkAddress *message_from; /* message/rfc822 only: its sender, or NULL */
} DkAttachment;

typedef struct {
	char *recipient;           /* the failed recipient, or NULL */
	char *status;              /* the RFC 3463 status code, e.g. "5.1.1", or NULL */
	char *original_message_id; /* Message-ID of the mail that bounced, or NULL */
	gboolean delayed;          /* a delay report (Action: delayed, a 4.x.x status):
	                            * delivery is still being tried */
} DkBounce;

typedef struct {
	gboolean auto_reply;     /* an answer made by a machine: out-of-office, vacation */
	gboolean auto_generated; /* other machine mail: alerts, notices (never answered) */
	gboolean bulk;
	gboolean spam;
	gboolean loop;
	DkBounce *bounce; /* NULL unless the message is a bounce */
} DkClassification;

/* How a message is protected (RFC 1847, RFC 3156 OpenPGP/MIME, RFC 8551
 * S/MIME, inline OpenPGP armour). */
typedef enum {
	DK_CRYPTO_NONE,
	DK_CRYPTO_SIGNED,
	DK_CRYPTO_ENCRYPTED, /* and perhaps signed inside */
} DkCryptoKind;

/* What a check of the signature found. The parser only recognises the
 * structure (DK_SIGNATURE_UNCHECKED); checking needs keys and gpgme,
 * which is I/O, so gateway/core/crypto.c fills the rest. */
typedef enum {
	DK_SIGNATURE_UNCHECKED, /* no signature, or not checked */
	DK_SIGNATURE_VERIFIED,  /* good, by a key or certificate the keyring trusts */
	DK_SIGNATURE_UNTRUSTED, /* good, but the key is not trusted (or expired, revoked) */
	DK_SIGNATURE_BAD,       /* the signed content was changed, or the signature is broken */
	DK_SIGNATURE_NO_KEY,    /* the keyring lacks the signer's key or certificate */
	DK_SIGNATURE_ERROR,     /* the check itself failed (detail says why) */
} DkSignatureStatus;

typedef struct {
	DkCryptoKind kind;
	char *protocol;     /* "pgp-mime", "smime" or "inline-pgp"; NULL for none */
	gboolean decrypted; /* an encrypted message whose text was decrypted */
	DkSignatureStatus signature;
	char *signer;      /* the e-mail address of the key or certificate that
	                    * made a good signature (VERIFIED or UNTRUSTED), lower-case
	                    * domain, or NULL */
	char *fingerprint; /* of that key or certificate, or NULL */
	char *detail;      /* one sentence on what the check found, or NULL */
} DkCrypto;

typedef struct {
	char *message_id; /* without brackets; synthetic when the mail has none */
	gboolean message_id_synthetic;
	char *in_reply_to;      /* without brackets, or NULL */
	GPtrArray *references;  /* of char*, oldest first, without brackets */
	DkAddress *from;        /* NULL when the message has no usable From */
	gboolean from_repaired; /* from was recovered from a malformed From
	                         * field, or its address taken from Sender or
	                         * Return-Path (the repairs say which) */
	DkAddress *reply_to;    /* NULL when absent */
	GPtrArray *to;          /* of DkAddress* */
	GPtrArray *cc;          /* of DkAddress* */
	char *subject;          /* decoded, UTF-8, unfolded; "" when absent */
	gint64 date;            /* Unix seconds */
	int date_offset;        /* the Date's zone, in minutes east of UTC */
	gboolean date_missing;  /* Date absent or absurd: date is the arrival time */
	char *text;             /* the full text, UTF-8 */
	char *new_text;         /* the text without quoted history and signature */
	char *quoted_text;      /* what was stripped as quoted history, or "" */
	gboolean html;          /* the text came from an HTML part */
	GPtrArray *attachments; /* of DkAttachment* */
	int spill_fd;           /* the one file the options' spill gave for the large
	                         * attachments, one after the other, or -1; closed with
	                         * the message */
	DkClassification classification;
	GPtrArray *errors;    /* of char*: limits exceeded and other problems */
	DkCrypto crypto;      /* signed or encrypted, and what a check found */
	GPtrArray *repairs;   /* of char*: what was mended to read the mail (a
	                       * sender recovered, junk before the header
	                       * skipped), one sentence each */
	char fingerprint[65]; /* SHA-256 of the message less its trace headers */
	/* Private, read through dk_message_header_all(): every header field,
	 * decoded when first asked for (most never are). */
	GHashTable *headers;    /* lower-case name -> values (message.c) */
	char **header_charsets; /* the text parts' charsets, for raw 8-bit header text */
	char *fallback_charset;
} DkMessage;

/* Parses raw (which the caller keeps owning; it is read in place, not
 * copied). Returns NULL and sets DK_PARSE_ERROR_NOT_MAIL for input that is
 * not a message (empty, binary, no header block), DK_PARSE_ERROR_LIMIT
 * when nothing useful can be read within the limits (a header block past
 * max_header_bytes, more than 4 GiB) and DK_PARSE_ERROR_INVALID when GMime
 * cannot read it at all. Problems that leave a usable message (limits
 * reached part-way, unreadable bytes replaced, a damaged winmail.dat) are
 * listed in ->errors instead, one sentence each. Thread-safe. The caller
 * frees the result with dk_message_free(). */
DkMessage *dk_message_parse(GBytes *raw, const DkParseOptions *options, GError **error);

/* dk_message_parse() of the size bytes at the start of the file fd
 * (which the caller keeps owning), read in chunks and never held whole:
 * the same DkMessage, except that an attached message/rfc822 is written
 * out by GMime rather than sliced from the input. Meant for large
 * messages (a bare-CR message is read into memory whole). The one parser that does I/O: it reads
 * fd, nothing else. */
DkMessage *dk_message_parse_fd(int fd, gsize size, const DkParseOptions *options, GError **error);

/* Whether the message carries a signature that was checked and found
 * good, made by a key or certificate the keyring trusts, for address
 * (compared without case): what agent verification reads. FALSE for an
 * unchecked, untrusted or bad signature, or another signer. */
gboolean dk_message_signed_by(const DkMessage *message, const char *address);

/* Frees crypto's strings and sets them NULL (the enums stay). */
void dk_message_crypto_clear(DkCrypto *crypto);

/* The text an encrypted message that was not decrypted carries instead
 * of an empty body. */
#define DK_MESSAGE_ENCRYPTED_MARKER "[encrypted message: no key to decrypt it]"

/* All values of one header, decoded, in order; NULL when absent. The array
 * belongs to the message. A header is decoded the first time it is asked
 * for, so one message is not to be read from two threads at once. */
const GPtrArray *dk_message_header_all(const DkMessage *message, const char *name);

/* The first value of one header, decoded, or NULL. */
const char *dk_message_header(const DkMessage *message, const char *name);

/* Initialises GMime once per process and registers all its types.
 * Neither g_mime_init() nor GMime's own type registration is safe from
 * two threads at once (both register a type, and the second goes on
 * without one), so every part of docket that uses GMime calls this
 * first, whatever thread it runs in. */
void dk_gmime_init(void);

void dk_message_free(DkMessage *message);
void dk_address_free(DkAddress *address);
void dk_attachment_free(DkAttachment *attachment);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(DkMessage, dk_message_free)

G_END_DECLS
