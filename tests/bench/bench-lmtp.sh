#!/bin/bash
# LMTP throughput of docket against a throwaway Dovecot LMTP (delivering to
# a Maildir with mail_fsync=always, so that both are durable), driven by
# Postfix's smtp-source -L at several session counts and message sizes;
# then docket's peak RSS while it receives and stores one 100 MiB message,
# and one with a 60 MiB attachment, beside Dovecot's.
# Prints messages/s (median of ROUNDS) for both and their ratio.
#
# Usage: tests/bench/bench-lmtp.sh        (from the source tree, as root)
# Environment: DOCKET (binary, default build/gateway/docket), ROUNDS (3),
#   SESSIONS ("1 4 20"), SIZES ("4096 65536"), PER_SESSION (messages per
#   session per run, 200), MAX_MESSAGES (per run, 2000), BIG_MIB (100),
#   BIG_ATTACHMENT_MIB (60: a message with an attachment that large; 0: none),
#   WARMUP (messages each server takes, untimed, before a run: 0),
#   BENCH_DIR (scratch parent, default /var/tmp), SKIP_DOVECOT=1.
# Needs: postfix (smtp-source), dovecot-core and dovecot-lmtpd
# (contrib/setup-debian.sh installs them). Only loopback is used.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
DOCKET=${DOCKET:-$root/build/gateway/docket}
ROUNDS=${ROUNDS:-3}
SESSIONS=${SESSIONS:-"1 4 20"}
SIZES=${SIZES:-"4096 65536"}
PER_SESSION=${PER_SESSION:-200}
MAX_MESSAGES=${MAX_MESSAGES:-2000}
BIG_MIB=${BIG_MIB:-100}
BIG_ATTACHMENT_MIB=${BIG_ATTACHMENT_MIB:-60}
WARMUP=${WARMUP:-0}
SMTP_SOURCE=/usr/sbin/smtp-source

. "$here/bench-lmtp-lib.sh"

[ -x "$DOCKET" ] || die "no docket binary at $DOCKET (build first, or set DOCKET)"
[ -x "$SMTP_SOURCE" ] || die "smtp-source missing: install postfix (contrib/setup-debian.sh)"
use_dovecot=1
if [ "${SKIP_DOVECOT:-0}" = 1 ]; then
	use_dovecot=0
elif [ ! -x /usr/lib/dovecot/lmtp ] || [ "$(id -u)" -ne 0 ]; then
	echo "note: Dovecot LMTP needs dovecot-lmtpd and root; measuring docket alone" >&2
	use_dovecot=0
fi

work=$(mktemp -d "${BENCH_DIR:-/var/tmp}/docket-bench-lmtp.XXXXXX")
chmod 755 "$work"
trap 'cleanup' EXIT INT TERM

print_conditions
results="$work/results"
: >"$results"

for size in $SIZES; do
	for s in $SESSIONS; do
		n=$(messages_for "$s")
		for round in $(seq 1 "$ROUNDS"); do
			out=$(run_docket "$s" "$n" "$size")
			echo "docket $size $s $out" >>"$results"
			echo "  round $round: docket  sessions=$s size=$size messages=$n: msg/s idle% cpu-ms/msg writer-ms/msg rss-MiB: $out" >&2
			if [ "$use_dovecot" = 1 ]; then
				out=$(run_dovecot "$s" "$n" "$size")
				echo "dovecot $size $s $out" >>"$results"
				echo "  round $round: dovecot sessions=$s size=$size messages=$n: msg/s idle%: $out" >&2
			fi
		done
	done
done

print_table "$results"
big_message_rss
[ "$BIG_ATTACHMENT_MIB" = 0 ] || big_attachment_rss
