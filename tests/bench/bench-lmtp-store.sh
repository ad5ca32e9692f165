#!/bin/bash
# LMTP throughput of docket on an existing store of any size and backend
# (bench-lmtp.sh measures a fresh SQLite store against Dovecot): `docket
# serve` on the store of TARGET, driven by Postfix's smtp-source -L, every
# message a new ticket; and the bytes the store grew by per message
# (bench-scale size: SQLite's files with the raw mail, or PostgreSQL's
# pg_database_size). The messages stay in the store.
#
# With BIG_MIB=N instead: docket serve's peak RSS (VmHWM) while it
# receives and stores one message of N MiB on that store (bench-lmtp.sh
# measures it on a fresh SQLite store), ROUNDS times.
#
# Usage: tests/bench/bench-lmtp-store.sh TARGET   (from the source tree)
#   TARGET: a SQLite data directory, or a docket.conf whose [store]
#   section names the store (e.g. [store] backend = postgresql).
# Environment: DOCKET (build/gateway/docket), BENCH_SCALE
#   (build/tests/bench/bench-scale), ROUNDS (3), SESSIONS ("4 20"), SIZES
#   ("4096"), PER_SESSION (200), MAX_MESSAGES (2000), BENCH_DIR (/var/tmp),
#   BIG_MIB (unset: throughput).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
DOCKET=${DOCKET:-$root/build/gateway/docket}
BENCH_SCALE=${BENCH_SCALE:-$root/build/tests/bench/bench-scale}
ROUNDS=${ROUNDS:-3}
SESSIONS=${SESSIONS:-"4 20"}
SIZES=${SIZES:-"4096"}
PER_SESSION=${PER_SESSION:-200}
MAX_MESSAGES=${MAX_MESSAGES:-2000}
SMTP_SOURCE=/usr/sbin/smtp-source
target=${1:?usage: bench-lmtp-store.sh TARGET}

. "$here/bench-lmtp-lib.sh"

[ -x "$DOCKET" ] || die "no docket binary at $DOCKET (build first, or set DOCKET)"
[ -x "$BENCH_SCALE" ] || die "no bench-scale at $BENCH_SCALE"
[ -x "$SMTP_SOURCE" ] || die "smtp-source missing: install postfix (contrib/setup-debian.sh)"
use_dovecot=0

work=$(mktemp -d "${BENCH_DIR:-/var/tmp}/docket-bench-lmtp-store.XXXXXX")
chmod 755 "$work"
trap 'cleanup' EXIT INT TERM

# the store's section: the target's own, or a data directory's
if [ -d "$target" ]; then
	store_section="[store]
data_dir = $target"
else
	store_section=$(awk '/^\[/ { on = ($0 == "[store]") } on' "$target")
fi

# serve_store [extra config]: docket serve on the store, on a free port
serve_store() {
	local port
	port=$(free_port)
	cat >"$work/docket.conf" <<-EOF
		$store_section
		[lmtp]
		hostname = docket.bench.test
		max_connections = 500
		${1:-}
	EOF
	"$DOCKET" -c "$work/docket.conf" serve --listen "127.0.0.1:$port" 2>>"$work/docket.log" &
	docket_pid=$!
	wait_port "$port"
	docket_port=$port
}

# size_of: "tickets bytes" of the store now
size_of() {
	"$BENCH_SCALE" size "$target" | awk '$1 == "tickets" { t = $2 } $1 == "bytes" { print t, $2 }'
}

# big_round: one message of BIG_MIB MiB to a fresh docket serve; prints
# its VmHWM before and after, RssAnon after (KiB), the tickets it stored
# and the time taken (ms).
big_round() {
	local before after anon t0 t1 tickets0 tickets1
	read -r tickets0 _ < <(size_of)
	serve_store "[intake]
max_message_size = $((BIG_MIB * 2))M
[parse]
max_decoded_size = $((BIG_MIB * 2))M"
	before=$(vm_kib "$docket_pid" VmHWM)
	t0=$(now_ns)
	drive "$docket_port" 1 1 "$((BIG_MIB * 1048576))" >/dev/null
	t1=$(now_ns)
	after=$(vm_kib "$docket_pid" VmHWM)
	anon=$(vm_kib "$docket_pid" RssAnon)
	stop_docket
	read -r tickets1 _ < <(size_of)
	echo "$before $after $anon $((tickets1 - tickets0)) $(((t1 - t0) / 1000000))"
}

echo "bench-lmtp-store: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, store $target"
echo "  load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (machine shared with others)"
echo "  the store before: $(size_of) (tickets, bytes)"
if [ -n "${BIG_MIB:-}" ]; then
	echo "peak RSS of docket serve for one ${BIG_MIB} MiB message (KiB):"
	for round in $(seq 1 "$ROUNDS"); do
		read -r before after anon stored ms < <(big_round)
		echo "  round $round: VmHWM $after (idle before: $before), RssAnon $anon after;" \
			"tickets stored: $stored; $ms ms"
	done
	grep -h 'event=message' "$work/docket.log" | tail -n "$ROUNDS" | cut -c1-200 | sed 's/^/  docket log: /'
	echo "  load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
	exit 0
fi
results="$work/results"
: >"$results"
for size in $SIZES; do
	for s in $SESSIONS; do
		n=$(messages_for "$s")
		for round in $(seq 1 "$ROUNDS"); do
			read -r t0 b0 < <(size_of)
			serve_store
			cpu0=$(proc_cpu_ms "$docket_pid")
			w0=$(writer_cpu_ms "$docket_pid")
			out=$(drive "$docket_port" "$s" "$n" "$size")
			cpu1=$(proc_cpu_ms "$docket_pid")
			w1=$(writer_cpu_ms "$docket_pid")
			stop_docket
			read -r t1 b1 < <(size_of)
			[ "$((t1 - t0))" = "$n" ] || echo "warning: docket stored $((t1 - t0)) tickets of $n" >&2
			line="$out $(awk -v c="$((cpu1 - cpu0))" -v w="$((w1 - w0))" -v n="$n" \
				-v b="$((b1 - b0))" 'BEGIN { printf "%.2f %.3f %.0f", c / n, w / n, b / n }')"
			echo "docket $size $s $line" >>"$results"
			echo "  round $round: sessions=$s size=$size messages=$n:" \
				"msg/s idle% cpu-ms/msg writer-ms/msg bytes/msg: $line" >&2
		done
	done
done

echo
echo "medians; idle = share of the machine's CPU left idle during the runs"
printf '%-8s %-9s %10s %8s %14s %14s %12s\n' size sessions "msg/s" idle "cpu/msg" \
	"writer cpu/msg" "bytes/msg"
for size in $SIZES; do
	for s in $SESSIONS; do
		printf '%-8s %-9s %10s %7s%% %11s ms %11s ms %12s\n' "$size" "$s" \
			"$(column "$results" docket "$size" "$s" 4)" "$(column "$results" docket "$size" "$s" 5)" \
			"$(column "$results" docket "$size" "$s" 6)" "$(column "$results" docket "$size" "$s" 7)" \
			"$(column "$results" docket "$size" "$s" 8)"
	done
done
echo "  load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "  the store after: $(size_of) (tickets, bytes)"
