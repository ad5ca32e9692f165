/* Attachments: safe file names, content hashes, and the real files inside
 * Outlook's winmail.dat (TNEF).
 *
 * DkAttachment itself is declared in parsers/message.h, since it is part of
 * DkMessage; this module builds and frees it. */
#pragma once

#include "parsers/message.h"

G_BEGIN_DECLS

/* Bounded length of a safe file name in bytes (the extension is kept). */
#define DK_ATTACHMENT_MAX_FILENAME 200

/* A file name that is safe to show and to store: the last path component
 * only (no '/' or '\\'), control, bidirectional-override and Windows-
 * reserved characters replaced by '_', no leading dots or spaces, at most
 * DK_ATTACHMENT_MAX_FILENAME bytes of valid UTF-8 with the extension kept.
 * raw must already be decoded (RFC 2231/2047). Returns NULL when nothing
 * usable is left; g_free() the result. */
char *dk_attachment_safe_filename(const char *raw);

/* Bounded length of a file name as sent, in bytes. */
#define DK_ATTACHMENT_MAX_SENT_FILENAME 1000

/* A file name as the sender wrote it (decoded already), for the metadata
 * shown to people and agents: valid UTF-8, control characters and
 * bidirectional overrides replaced by '_', surrounding spaces removed, at
 * most DK_ATTACHMENT_MAX_SENT_FILENAME bytes; everything else, paths and
 * colons included ("Call: HW.eml"), kept. NULL when nothing is left.
 * Where a name becomes a file, dk_attachment_safe_filename() of it is
 * the one to use. g_free() the result. */
char *dk_attachment_sent_filename(const char *raw);

/* A name for a part sent without one, as mail programs show it: the file
 * name in its Content-ID ("image001.png@01D..."), else its
 * Content-Description with the extension of its type, else a word for
 * its type ("delivery-status.txt", "image.png", "file.bin"); NULL for
 * message/rfc822, which is named after its subject by the caller. taken
 * (may be NULL) holds the names already used in the message: a number is
 * added before the extension until the name is new ("image1.png").
 * g_free() the result. */
char *dk_attachment_generated_filename(const char *content_type, const char *content_id,
                                       const char *description, GPtrArray *taken);

/* A new attachment holding data (a reference is taken; NULL for none,
 * when a limit kept it out): size and SHA-256 are computed here. The
 * strings are copied; filename is kept as sent
 * (dk_attachment_sent_filename); a NULL content_type is guessed from the
 * file name's extension. Free with dk_attachment_free(). */
DkAttachment *dk_attachment_new(const char *filename, const char *content_type,
                                const char *disposition, const char *content_id, GBytes *data);

/* Whether a part of this type and file name is a TNEF (winmail.dat)
 * container. */
gboolean dk_attachment_is_tnef(const char *content_type, const char *filename);

/* Decodes a TNEF container (Microsoft's Transport Neutral Encapsulation
 * Format, read with libytnef) and appends its files to out as
 * DkAttachments with origin set to origin. Files past max_bytes in total
 * are left out and counted in *skipped_out. Sets *body_out to the body
 * text it carries (UTF-8) or NULL. Returns FALSE, with out untouched, when
 * data is not readable TNEF. */
gboolean dk_attachment_extract_tnef(GBytes *data, const char *origin, gsize max_bytes,
                                    GPtrArray *out, char **body_out, guint *skipped_out);

/* Finds uuencoded files in plain text ("begin 644 name" ... "end", as Lotus
 * Notes and old mailers embed them), appends each as a DkAttachment to out
 * and removes its lines from *text (replaced with g_free()d new text when
 * anything was found). Files past max_bytes in total stay in the text.
 * Returns the number of files taken out. */
guint dk_attachment_extract_uuencoded(char **text, gsize max_bytes, GPtrArray *out);

G_END_DECLS
