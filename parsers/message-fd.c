/* Reads a message from a file descriptor without holding it in memory: the
 * fingerprint is computed over chunks read with pread() and GMime parses a
 * file stream, so that a message of any size costs a bounded amount of
 * memory. The one exception to "parsers do no I/O": reading the bytes the
 * caller handed over, nothing else. */
#include "parsers/message-private.h"
#include "parsers/digest.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#define CHUNK (256 * 1024)

/* Reads up to n bytes at offset; the count read, or -1 with errno set. */
static gssize read_at(int fd, guint8 *buf, gsize n, goffset offset)
{
	gsize got = 0;
	while (got < n) {
		ssize_t r = pread(fd, buf + got, n - got, offset + (goffset)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (gsize)r;
	}
	return (gssize)got;
}

static void read_failed(GError **error)
{
	g_set_error(error, DK_PARSE_ERROR, DK_PARSE_ERROR_INVALID, "reading the message: %s",
	            g_strerror(errno));
}

/* Counts lines starting with "--" from offset on (as boundary_cut does in
 * message.c), carrying the last two bytes of each chunk into the next. */
typedef struct {
	gsize allowed, seen, cut; /* cut: the length to parse, or 0 for all */
	guint8 tail[2];
	gsize tail_len;
} Boundaries;

static void count_boundaries(Boundaries *b, const guint8 *p, gsize n, goffset offset)
{
	if (b->cut != 0)
		return;
	/* A "\n--" straddling the previous chunk and this one. */
	for (gsize k = 0; k < b->tail_len && k < 2; k++) {
		guint8 joined[4] = {0};
		gsize have = b->tail_len - k;
		memcpy(joined, b->tail + k, have);
		if (n >= 3 - have)
			memcpy(joined + have, p, 3 - have);
		if (n >= 3 - have && memcmp(joined, "\n--", 3) == 0 && ++b->seen > b->allowed) {
			b->cut = (gsize)offset - have + 1;
			return;
		}
	}
	const guint8 *at = p, *end = p + n;
	while ((at = memmem(at, (gsize)(end - at), "\n--", 3)) != NULL) {
		if (++b->seen > b->allowed) {
			b->cut = (gsize)offset + (gsize)(at - p) + 1;
			return;
		}
		at += 3;
	}
	b->tail_len = MIN(n, 2);
	memcpy(b->tail, end - b->tail_len, b->tail_len);
}

/* The fingerprint and boundary count of the body from offset body on. */
static gboolean scan_body(int fd, gsize size, gsize body, DkSha256 *sum, Boundaries *b,
                          GError **error)
{
	g_autofree guint8 *buf = g_malloc(CHUNK);
	goffset at = (goffset)body;
	while ((gsize)at < size) {
		gssize r = read_at(fd, buf, MIN((gsize)CHUNK, size - (gsize)at), at);
		if (r <= 0) {
			if (r == 0)
				errno = EIO;
			read_failed(error);
			return FALSE;
		}
		gsize n = (gsize)r;
		gboolean last = (gsize)at + n >= size;
		if (!last && buf[n - 1] == '\r')
			n--; /* a CR is judged with the byte after it */
		dk_message_checksum_body(sum, buf, n, last);
		count_boundaries(b, buf, n, at);
		at += (goffset)n;
	}
	return TRUE;
}

/* The whole message in memory, for the rare input that needs a copy. */
static DkMessage *parse_in_memory(int fd, gsize size, const DkParseOptions *o, GError **error)
{
	guint8 *all = g_malloc(size);
	gssize r = read_at(fd, all, size, 0);
	if (r < 0) {
		g_free(all);
		read_failed(error);
		return NULL;
	}
	g_autoptr(GBytes) raw = g_bytes_new_take(all, (gsize)r);
	return dk_message_parse(raw, o, error);
}

DkMessage *dk_message_parse_fd(int fd, gsize size, const DkParseOptions *options, GError **error)
{
	dk_gmime_init(); /* before the first GMime stream below */
	DkParseOptions defaults = {0};
	const DkParseOptions *o = options ? options : &defaults;
	gsize max_header =
	    o->max_header_bytes ? o->max_header_bytes : DK_PARSE_DEFAULT_MAX_HEADER_BYTES;
	gsize head_len = MIN(size, max_header + CHUNK);
	g_autofree guint8 *head = g_malloc(head_len + 1);
	gssize r = read_at(fd, head, head_len, 0);
	if (r < 0) {
		read_failed(error);
		return NULL;
	}
	if ((gsize)r < head_len)
		size = (gsize)r; /* the file is shorter than said */
	head_len = (gsize)r;
	/* Rare input pays for itself: old Mac OS line ends, and junk before
	 * the header block other than an mbox "From " line. */
	gsize junk = dk_message_junk_prefix(head, head_len);
	if (dk_message_bare_cr(head, head_len) || (junk > 0 && memcmp(head, "From ", 5) != 0))
		return parse_in_memory(fd, size, o, error);
	if (size > G_MAXUINT) {
		g_set_error(error, DK_PARSE_ERROR, DK_PARSE_ERROR_LIMIT,
		            "message larger than 4 GiB");
		return NULL;
	}
	g_autoptr(DkMessage) m = dk_message_new_empty();
	if (junk > 0)
		dk_message_note_junk(m, head, junk);
	g_autoptr(DkSha256) sum = dk_sha256_new();
	gsize body = 0;
	if (!dk_message_scan_head(head, head_len, max_header, sum, &body, error))
		return NULL;
	if (body >= head_len && head_len < size) { /* the header block runs past what was read */
		g_set_error(error, DK_PARSE_ERROR, DK_PARSE_ERROR_LIMIT,
		            "header block larger than %" G_GSIZE_FORMAT " bytes", max_header);
		return NULL;
	}
	Boundaries b = {.allowed = dk_message_boundary_allowance(
	                    o->max_parts ? o->max_parts : DK_PARSE_DEFAULT_MAX_PARTS)};
	count_boundaries(&b, head, body, 0);
	g_clear_pointer(&head, g_free);
	if (!scan_body(fd, size, body, sum, &b, error))
		return NULL;
	dk_sha256_finish(sum, m->fingerprint);
	gsize parse_len = b.cut != 0 ? b.cut : size;
	GMimeStream *stream = g_mime_stream_fs_new_with_bounds(fd, 0, (gint64)parse_len);
	g_mime_stream_fs_set_owner(GMIME_STREAM_FS(stream), FALSE);
	DkMessage *out =
	    dk_message_parse_stream(g_steal_pointer(&m), stream, NULL, parse_len, size, o, error);
	g_object_unref(stream);
	return out;
}
