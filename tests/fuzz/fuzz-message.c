/* libFuzzer target for the message normaliser (parsers/message.c and all
 * it calls: charsets, HTML, attachments, TNEF, the spill of attachments
 * into files). Run, from a build made with
 * CC=clang cmake -S . -B build-fuzz -DDOCKET_FUZZ=ON -DDOCKET_TESTS=ON:
 *   mkdir -p /tmp/fuzz-message
 *   build-fuzz/tests/fuzz/fuzz-message -max_len=65536 -timeout=10 \
 *       /tmp/fuzz-message ../shared/corpus */
#include "parsers/message.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The spill, in memory (memfd): attachments of 64 encoded bytes or more
 * are decoded into it a piece at a time. */
static int spill(gpointer data)
{
	(void)data;
	return memfd_create("fuzz-spill", MFD_CLOEXEC);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Small limits reach the limit paths; the time bound stays above what
	 * a sanitized build needs for an honest 64 KiB message. */
	DkParseOptions o = {
	    .max_depth = 12,
	    .max_parts = 200,
	    .max_decoded_bytes = 256 * 1024,
	    .max_millis = 5000,
	    .arrival_time = 1700000000,
	    .spill = spill,
	    .spill_min = 64,
	};
	GBytes *raw = g_bytes_new_static(data, size);
	GError *error = NULL;
	/* an input of odd length is read as a spool file is (large mail:
	 * dk_message_parse_fd()), the others from memory */
	DkMessage *m = NULL;
	int fd = size % 2 == 1 ? memfd_create("fuzz-message", MFD_CLOEXEC) : -1;
	if (fd >= 0 && write(fd, data, size) == (ssize_t)size)
		m = dk_message_parse_fd(fd, size, &o, &error);
	else
		m = dk_message_parse(raw, &o, &error);
	if (m != NULL) {
		/* the invariants every caller relies on */
		if (!g_utf8_validate(m->text, -1, NULL) || !g_utf8_validate(m->subject, -1, NULL) ||
		    !g_utf8_validate(m->new_text, -1, NULL) || m->message_id == NULL)
			__builtin_trap();
		if (m->from != NULL &&
		    (m->from->address == NULL || !g_utf8_validate(m->from->address, -1, NULL) ||
		     (m->from->name != NULL && !g_utf8_validate(m->from->name, -1, NULL))))
			__builtin_trap();
		for (guint i = 0; i < m->attachments->len; i++) {
			const DkAttachment *a = g_ptr_array_index(m->attachments, i);
			if (a->filename != NULL && !g_utf8_validate(a->filename, -1, NULL))
				__builtin_trap();
			/* a spilled content is all in the message's file, and
			 * counted */
			struct stat st;
			if (a->fd >= 0 &&
			    (a->fd != m->spill_fd || a->data != NULL || fstat(a->fd, &st) != 0 ||
			     (gsize)st.st_size < a->offset + a->size || a->sha256[0] == '\0'))
				__builtin_trap();
		}
		const char *subject = dk_message_header(m, "subject");
		if (subject != NULL && !g_utf8_validate(subject, -1, NULL))
			__builtin_trap();
		dk_message_free(m);
	} else if (error == NULL || error->domain != DK_PARSE_ERROR) {
		__builtin_trap();
	}
	g_clear_error(&error);
	g_bytes_unref(raw);
	if (fd >= 0)
		close(fd);
	return 0;
}
