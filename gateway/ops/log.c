/* Formats and filters log lines for stderr or syslog. */
#include "gateway/ops/log.h"

#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

static GLogLevelFlags threshold = G_LOG_LEVEL_INFO;
static gboolean use_syslog;
static gboolean quiet; /* no stderr: a command whose stderr is its caller's */
/* The local time zone, read once (and again at each dk_log_init()): GLib
 * 2.74 reads /etc/localtime again at every g_time_zone_new_local() when TZ
 * is unset, 7 us a line. */
static GTimeZone *zone;
G_LOCK_DEFINE_STATIC(zone);
static int pid; /* docket never forks without an exec */

static int syslog_priority(GLogLevelFlags level)
{
	if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL))
		return LOG_ERR;
	if (level & G_LOG_LEVEL_WARNING)
		return LOG_WARNING;
	if (level & G_LOG_LEVEL_DEBUG)
		return LOG_DEBUG;
	return LOG_INFO;
}

static const char *level_name(GLogLevelFlags level)
{
	if (level & G_LOG_LEVEL_ERROR)
		return "error";
	if (level & G_LOG_LEVEL_CRITICAL)
		return "critical";
	if (level & G_LOG_LEVEL_WARNING)
		return "warning";
	if (level & G_LOG_LEVEL_DEBUG)
		return "debug";
	return "info";
}

static GLogWriterOutput writer(GLogLevelFlags level, const GLogField *fields, gsize n,
                               gpointer data)
{
	/* GLib's levels grow less severe as the flag grows (ERROR = 1<<2). */
	GLogLevelFlags flag = level & G_LOG_LEVEL_MASK;
	if (flag > threshold)
		return G_LOG_WRITER_HANDLED;
	const char *message = "";
	for (gsize i = 0; i < n; i++) {
		if (strcmp(fields[i].key, "MESSAGE") == 0)
			message = fields[i].value;
	}
	if (use_syslog) {
		syslog(syslog_priority(flag), "%s", message);
		return G_LOG_WRITER_HANDLED;
	}
	if (quiet)
		return G_LOG_WRITER_HANDLED;
	G_LOCK(zone);
	g_autoptr(GTimeZone) tz = g_time_zone_ref(zone);
	G_UNLOCK(zone);
	g_autoptr(GDateTime) now = g_date_time_new_now(tz);
	g_autofree char *stamp = g_date_time_format(now, "%Y-%m-%dT%H:%M:%S");
	fprintf(stderr, "%s docket[%d]: %s %s\n", stamp, pid, level_name(flag), message);
	return G_LOG_WRITER_HANDLED;
}

void dk_log_init_quiet(const DkConfig *config)
{
	quiet = TRUE;
	dk_log_init(config);
}

void dk_log_init(const DkConfig *config)
{
	const char *level = dk_config_get_string(config, "log", "level");
	if (strcmp(level, "error") == 0)
		threshold = G_LOG_LEVEL_CRITICAL;
	else if (strcmp(level, "warning") == 0)
		threshold = G_LOG_LEVEL_WARNING;
	else if (strcmp(level, "debug") == 0)
		threshold = G_LOG_LEVEL_DEBUG;
	else
		threshold = G_LOG_LEVEL_INFO;
	use_syslog = dk_config_get_bool(config, "log", "syslog");
	pid = (int)getpid();
	GTimeZone *local = g_time_zone_new_local();
	G_LOCK(zone);
	GTimeZone *old = zone;
	zone = local;
	G_UNLOCK(zone);
	g_clear_pointer(&old, g_time_zone_unref);
	if (use_syslog)
		openlog("docket", LOG_PID, LOG_MAIL);
	/* GLib takes a writer once per process; a later call (deliver's quiet
	 * one, serve's after a reload) only changes the settings above. */
	static gsize installed;
	if (g_once_init_enter(&installed)) {
		g_log_set_writer_func(writer, NULL, NULL);
		g_once_init_leave(&installed, 1);
	}
}
