/* One LMTP session (RFC 2033) as an explicit state machine over a pair of
 * streams: a socket in the server, memory streams in the tests. The session
 * spools DATA to a file, hands the message to the pipeline and answers each
 * recipient only after the transaction holding the message committed. */
#pragma once

#include "gateway/core/pipeline.h"

#include <gio/gio.h>

G_BEGIN_DECLS

/* What a session needs to know; a snapshot taken when it starts, so a
 * reload never changes a session halfway. Reference-counted: sessions share
 * one. */
typedef struct {
	gint refcount;
	char *hostname;        /* in the greeting and replies */
	gint64 max_size;       /* bytes; announced with SIZE */
	guint max_recipients;  /* per transaction */
	char **recipients;     /* accepted addresses and *@domain patterns; empty: all */
	char *spool_dir;       /* where DATA is spooled */
	guint command_seconds; /* a command line must be complete within this */
	guint data_seconds;    /* DATA must be complete within this */
} DkLmtpSettings;

DkLmtpSettings *dk_lmtp_settings_new(const DkConfig *config);
DkLmtpSettings *dk_lmtp_settings_ref(DkLmtpSettings *settings);
void dk_lmtp_settings_unref(DkLmtpSettings *settings);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DkLmtpSettings, dk_lmtp_settings_unref)

/* TRUE when address is one of settings' recipients (case-insensitive;
 * "*@domain" covers the domain; local+detail@domain is local@domain's). */
gboolean dk_lmtp_settings_accepts(const DkLmtpSettings *settings, const char *address);

typedef struct DkLmtpSession DkLmtpSession;

/* A session reading from in and answering on out. peer names the client in
 * logs and Received: lines. cancellable, when cancelled, ends the session
 * at the next command boundary with 421 (shutdown); a transaction in DATA
 * is finished first. */
DkLmtpSession *dk_lmtp_session_new(DkLmtpSettings *settings, DkPipeline *pipeline, const char *peer,
                                   GInputStream *in, GOutputStream *out, GCancellable *cancellable);

/* Runs the session until QUIT, end of input, a timeout or an I/O error.
 * A command line not complete within command_seconds, or DATA not within
 * data_seconds, ends the session with 421 4.4.2 (a client sending one byte
 * a second cannot hold it); nothing of an unfinished DATA is stored. */
void dk_lmtp_session_run(DkLmtpSession *session);

void dk_lmtp_session_free(DkLmtpSession *session);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DkLmtpSession, dk_lmtp_session_free)

G_END_DECLS
