/* The embedded default transport: each message becomes a file in a Maildir
 * under data_dir/outbox-maildir/, written to tmp/, fsynced and renamed into
 * new/, where a person (or a mail reader) can read what docket would send. */
#include "gateway/outbox/send.h"

#include "gateway/error.h"
#include "gateway/core/ids.h"
#include "gateway/store/store-file.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

static gboolean make_dirs(const char *root, GError **error)
{
	const char *subs[] = {"tmp", "new", "cur"};
	for (gsize i = 0; i < G_N_ELEMENTS(subs); i++) {
		g_autofree char *dir = g_build_filename(root, subs[i], NULL);
		if (g_mkdir_with_parents(dir, 0750) != 0) {
			int e = errno;
			g_set_error(error, DK_ERROR, DK_ERROR_TEMPORARY, "creating %s: %s", dir,
			            g_strerror(e));
			return FALSE;
		}
	}
	return TRUE;
}

/* Writes head, then the message a piece at a time, to fd (errno says
 * why it failed, or error when the message could not be read). */
static gboolean write_message(int fd, const char *head, const DkOutgoing *mail, GError **error)
{
	DkStoreFileSink sink = {fd, NULL};
	return dk_store_file_write_all(fd, head, strlen(head)) &&
	       dk_outgoing_each(mail, dk_store_file_sink_write, &sink, error);
}

/* A new file at path holding head and the message, fsynced; nothing at
 * path on failure. */
static gboolean write_synced(const char *path, const char *head, const DkOutgoing *mail,
                             GError **error)
{
	int fd = g_open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	g_autoptr(GError) local = NULL;
	gboolean ok = fd >= 0 && write_message(fd, head, mail, &local) && fsync(fd) == 0;
	int e = errno;
	if (fd >= 0 && close(fd) != 0 && ok) {
		ok = FALSE;
		e = errno;
	}
	if (!ok) {
		g_unlink(path);
		g_set_error(error, DK_ERROR, DK_ERROR_TEMPORARY, "writing %s: %s", path,
		            local != NULL ? local->message : g_strerror(e));
	}
	return ok;
}

static gboolean sync_dir(const char *dir)
{
	int fd = g_open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (fd < 0)
		return FALSE;
	gboolean ok = fsync(fd) == 0;
	close(fd);
	return ok;
}

static gboolean maildir_send(const DkConfig *config, const DkOutgoing *mail, GError **error)
{
	g_autofree char *root = g_build_filename(dk_config_get_string(config, "store", "data_dir"),
	                                         "outbox-maildir", NULL);
	if (!make_dirs(root, error))
		return FALSE;
	/* Maildir unique names: time, a random part and the host. */
	g_autofree char *random = dk_ids_random_hex(4);
	g_autofree char *name =
	    g_strdup_printf("%" G_GINT64_FORMAT ".P%dR%s.%s", g_get_real_time() / G_USEC_PER_SEC,
	                    (int)getpid(), random, g_get_host_name());
	g_autofree char *tmp = g_build_filename(root, "tmp", name, NULL);
	g_autofree char *dest = g_build_filename(root, "new", name, NULL);
	g_autofree char *newdir = g_build_filename(root, "new", NULL);
	/* What a delivery agent adds (RFC 5321 section 4.4): the envelope. */
	g_autofree char *envelope = g_strdup_printf("Return-Path: <%s>\nDelivered-To: %s\n",
	                                            mail->envelope_from, mail->recipient);
	if (!write_synced(tmp, envelope, mail, error))
		return FALSE;
	if (g_rename(tmp, dest) != 0 || !sync_dir(newdir)) {
		int e = errno;
		g_unlink(tmp);
		g_set_error(error, DK_ERROR, DK_ERROR_TEMPORARY, "moving %s into new/: %s", name,
		            g_strerror(e));
		return FALSE;
	}
	return TRUE;
}

const DkSendOps dk_send_maildir = {
    .name = "maildir",
    .send = maildir_send,
};

const DkSendOps *dk_send_for_config(const DkConfig *config)
{
	const char *t = dk_config_get_string(config, "notify", "transport");
	if (strcmp(t, "smtp") == 0 ||
	    (strcmp(t, "auto") == 0 && *dk_config_get_string(config, "smtp", "url")))
		return &dk_send_smtp;
	if (strcmp(t, "sendmail") == 0)
		return &dk_send_sendmail;
	return &dk_send_maildir;
}
