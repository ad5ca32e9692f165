/* Hands a message to the local MTA: [notify] sendmail (/usr/sbin/sendmail)
 * -i -f <bounce address> -- <recipient>, the message written to its
 * standard input a piece at a time. The recipient is the row's alone, as
 * over SMTP: not the message's To and Cc (-t), which name others for a
 * relay's copies (each has a row of its own) and the original recipients
 * for a rule's redirect. The exit status follows sysexits.h: EX_DATAERR,
 * EX_NOUSER, EX_NOHOST and EX_USAGE are permanent, anything else a
 * temporary failure. */
#include "gateway/outbox/send.h"

#include "gateway/error.h"
#include "gateway/store/store-file.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#define WHY_MAX 300 /* what the error keeps of the program's standard error */

static gboolean permanent_status(int status)
{
	/* EX_USAGE 64, EX_DATAERR 65, EX_NOUSER 67, EX_NOHOST 68 */
	return status == 64 || status == 65 || status == 67 || status == 68;
}

/* Writes a piece of the message to the program's standard input; FALSE
 * when the program stopped reading. */
static gboolean write_piece(const guint8 *bytes, gsize size, gpointer data, GError **error)
{
	(void)error;
	return g_output_stream_write_all(data, bytes, size, NULL, NULL, NULL);
}

/* Writes the message to in, the program's standard input. FALSE with
 * error when the message cannot be read; *broken_out when the program
 * stopped reading (a program that exits without reading its input breaks
 * the pipe: its exit status still says what happened). The SIGPIPE of
 * that write is kept from ending docket: blocked in this thread while it
 * writes, and taken if it came. */
static gboolean feed(GOutputStream *in, const DkOutgoing *mail, gboolean *broken_out,
                     GError **error)
{
	sigset_t pipe_set, old;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	GError *local = NULL;
	*broken_out = !dk_outgoing_each(mail, write_piece, in, &local) && local == NULL;
	if (*broken_out && !sigismember(&old, SIGPIPE)) {
		struct timespec none = {0, 0};
		while (sigtimedwait(&pipe_set, NULL, &none) > 0)
			;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (local != NULL)
		g_propagate_error(error, local);
	return local == NULL;
}

/* The start of what the program wrote to its standard error (the
 * unnamed file err), stripped. */
static char *error_text(int err)
{
	char buf[WHY_MAX + 1];
	ssize_t n = pread(err, buf, WHY_MAX, 0);
	buf[n > 0 ? n : 0] = '\0';
	return g_strstrip(g_strdup(buf));
}

/* A file without a name for the program's standard error (no pipe that
 * it could fill while docket writes its input); -1 with error. */
static int error_file(GError **error)
{
	int fd = dk_store_file_temporary("sendmail");
	if (fd < 0)
		g_set_error(error, DK_ERROR, DK_ERROR_TEMPORARY,
		            "sendmail: a temporary file for its errors: %s", g_strerror(errno));
	return fd;
}

static GSubprocess *start(const char *const *argv, int err, GError **error)
{
	g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new(
	    G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
	g_subprocess_launcher_take_stderr_fd(launcher, fcntl(err, F_DUPFD_CLOEXEC, 3));
	g_autoptr(GError) local = NULL;
	GSubprocess *proc = g_subprocess_launcher_spawnv(launcher, argv, &local);
	if (proc == NULL)
		g_set_error(error, DK_ERROR, DK_ERROR_TEMPORARY, "running %s: %s", argv[0],
		            local->message);
	return proc;
}

static gboolean sendmail_send(const DkConfig *config, const DkOutgoing *mail, GError **error)
{
	const char *program = dk_config_get_string(config, "notify", "sendmail");
	const char *argv[] = {program,         "-i", "-f", mail->envelope_from, "--",
	                      mail->recipient, NULL};
	int err = error_file(error);
	if (err < 0)
		return FALSE;
	g_autoptr(GSubprocess) proc = start(argv, err, error);
	if (proc == NULL) {
		close(err);
		return FALSE;
	}
	GOutputStream *in = g_subprocess_get_stdin_pipe(proc);
	gboolean broken = FALSE;
	gboolean fed = feed(in, mail, &broken, error);
	if (!fed) /* never a part of the message handed on as if whole */
		g_subprocess_force_exit(proc);
	g_output_stream_close(in, NULL, NULL);
	g_autoptr(GError) local = NULL;
	gboolean waited = g_subprocess_wait(proc, NULL, &local);
	if (!fed || !waited) {
		if (fed)
			g_set_error(error, DK_ERROR, DK_ERROR_TEMPORARY, "running %s: %s", program,
			            local->message);
		close(err);
		return FALSE;
	}
	gboolean exited = g_subprocess_get_if_exited(proc);
	int status = exited ? g_subprocess_get_exit_status(proc) : -1;
	if (status == 0 && broken)
		g_set_error(error, DK_ERROR, DK_ERROR_TEMPORARY,
		            "running %s: it exited without reading the whole message", program);
	g_autofree char *why = status != 0 ? error_text(err) : NULL;
	close(err);
	if (status == 0)
		return !broken;
	g_set_error(error, DK_ERROR,
	            permanent_status(status) ? DK_ERROR_PERMANENT : DK_ERROR_TEMPORARY,
	            "%s exited with status %d%s%s", program, status, *why ? ": " : "", why);
	return FALSE;
}

const DkSendOps dk_send_sendmail = {
    .name = "sendmail",
    .send = sendmail_send,
};
