/* Hands a message to the local MTA: [notify] sendmail (/usr/sbin/sendmail)
 * -t -i -f <bounce address>, the message on standard input. The exit status
 * follows sysexits.h: EX_DATAERR, EX_NOUSER, EX_NOHOST and EX_USAGE are
 * permanent, anything else a temporary failure. */
#include "gateway/outbox/send.h"

#include "gateway/error.h"

#include <gio/gio.h>

static gboolean permanent_status(int status)
{
	/* EX_USAGE 64, EX_DATAERR 65, EX_NOUSER 67, EX_NOHOST 68 */
	return status == 64 || status == 65 || status == 67 || status == 68;
}

static gboolean sendmail_send(const DkConfig *config, const DkOutgoing *mail, GError **error)
{
	const char *program = dk_config_get_string(config, "notify", "sendmail");
	const char *argv[] = {program, "-t", "-i", "-f", mail->envelope_from, NULL};
	g_autoptr(GError) local = NULL;
	g_autoptr(GSubprocess) proc =
	    g_subprocess_newv(argv,
	                      G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
	                          G_SUBPROCESS_FLAGS_STDERR_PIPE,
	                      &local);
	g_autoptr(GBytes) err_out = NULL;
	if (proc == NULL) {
		g_set_error(error, DK_ERROR, DK_ERROR_TEMPORARY, "running %s: %s", program,
		            local->message);
		return FALSE;
	}
	/* A program that exits without reading its input breaks the pipe:
	 * its exit status still says what happened. */
	if (!g_subprocess_communicate(proc, mail->message, NULL, NULL, &err_out, &local) &&
	    !g_subprocess_wait(proc, NULL, NULL)) {
		g_set_error(error, DK_ERROR, DK_ERROR_TEMPORARY, "running %s: %s", program,
		            local->message);
		return FALSE;
	}
	if (local != NULL && g_subprocess_get_if_exited(proc) &&
	    g_subprocess_get_exit_status(proc) == 0) {
		g_set_error(error, DK_ERROR, DK_ERROR_TEMPORARY, "running %s: %s", program,
		            local->message);
		return FALSE;
	}
	if (g_subprocess_get_if_exited(proc) && g_subprocess_get_exit_status(proc) == 0)
		return TRUE;
	int status = g_subprocess_get_if_exited(proc) ? g_subprocess_get_exit_status(proc) : -1;
	gsize len = 0;
	const char *text = err_out ? g_bytes_get_data(err_out, &len) : NULL;
	g_autofree char *why = g_strstrip(g_strndup(text ? text : "", MIN(len, 300)));
	g_set_error(error, DK_ERROR,
	            permanent_status(status) ? DK_ERROR_PERMANENT : DK_ERROR_TEMPORARY,
	            "%s exited with status %d%s%s", program, status, *why ? ": " : "", why);
	return FALSE;
}

const DkSendOps dk_send_sendmail = {
    .name = "sendmail",
    .send = sendmail_send,
};
