/* The message a sender sends, read a piece at a time whether it is in
 * memory or in a file (send.h). */
#include "gateway/outbox/send.h"

#include "gateway/error.h"
#include "gateway/store/store-file.h"

#include <errno.h>
#include <string.h>

#define PIECE (64 * 1024)

gsize dk_outgoing_size(const DkOutgoing *mail)
{
	return mail->message != NULL ? g_bytes_get_size(mail->message) : mail->size;
}

gboolean dk_outgoing_read(const DkOutgoing *mail, gsize offset, guint8 *buf, gsize max,
                          gsize *count_out, GError **error)
{
	gsize size = dk_outgoing_size(mail);
	gsize n = offset < size ? MIN(max, size - offset) : 0;
	*count_out = n;
	if (n == 0)
		return TRUE;
	if (mail->message != NULL) {
		memcpy(buf, (const guint8 *)g_bytes_get_data(mail->message, NULL) + offset, n);
		return TRUE;
	}
	if (dk_store_file_read_at(mail->fd, buf, n, offset))
		return TRUE;
	g_set_error(error, DK_ERROR, DK_ERROR_TEMPORARY, "reading the message: %s",
	            g_strerror(errno));
	return FALSE;
}

gboolean dk_outgoing_each(const DkOutgoing *mail, DkOutgoingPiece piece, gpointer data,
                          GError **error)
{
	g_autofree guint8 *buf = g_malloc(PIECE);
	gsize len = 0;
	for (gsize at = 0;; at += len) {
		if (!dk_outgoing_read(mail, at, buf, PIECE, &len, error))
			return FALSE;
		if (len == 0)
			return TRUE;
		if (!piece(buf, len, data, error))
			return FALSE;
	}
}
