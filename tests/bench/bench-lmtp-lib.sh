# Functions for bench-lmtp.sh: starting and stopping docket and a private
# Dovecot LMTP, timing smtp-source runs, printing the results. Sourced,
# not run; expects DOCKET, SMTP_SOURCE, work, use_dovecot, BIG_MIB.

die() {
	echo "bench-lmtp: $*" >&2
	exit 1
}

free_port() {
	/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_port PORT: until something accepts connections there (10 s).
wait_port() {
	local i
	for i in $(seq 1 200); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
			return 0
		fi
		sleep 0.05
	done
	die "nothing listens on 127.0.0.1:$1"
}

# messages_for SESSIONS: the messages of one run, PER_SESSION a session
# and at most MAX_MESSAGES.
messages_for() {
	local n=$(($1 * PER_SESSION))
	[ "$n" -gt "$MAX_MESSAGES" ] && n=$MAX_MESSAGES
	echo "$n"
}

now_ns() {
	date +%s%N
}

# cpu_ticks: "idle total" jiffies of the whole machine (/proc/stat).
cpu_ticks() {
	awk '$1 == "cpu" { t = 0; for (i = 2; i <= NF; i++) t += $i; print $5 + $6, t; exit }' /proc/stat
}

# proc_cpu_ms PID: user + system CPU time of a process so far, in ms.
proc_cpu_ms() {
	awk -v hz="$(getconf CLK_TCK)" '{ print int(($14 + $15) * 1000 / hz) }' "/proc/$1/stat"
}

# drive PORT SESSIONS MESSAGES SIZE: runs smtp-source; prints messages/s
# and how idle the machine was meanwhile (percent).
drive() {
	local t0 t1 c0 c1
	c0=$(cpu_ticks)
	t0=$(now_ns)
	"$SMTP_SOURCE" -L -d -s "$2" -m "$3" -l "$4" -f bench@example.com -t support@example.test \
		-M client.example.test -S "bench $4" "127.0.0.1:$1" >/dev/null ||
		die "smtp-source failed against port $1"
	t1=$(now_ns)
	c1=$(cpu_ticks)
	awk -v n="$3" -v ns="$((t1 - t0))" -v c0="$c0" -v c1="$c1" 'BEGIN {
		split(c0, a, " "); split(c1, b, " ")
		printf "%.0f %.0f\n", n * 1e9 / ns, 100 * (b[1] - a[1]) / (b[2] - a[2] + 1e-9) }'
}

# warm_up PORT SESSIONS SIZE: WARMUP messages (0: none) over as many
# sessions, not timed, so that a run measures the server as it runs once
# its processes, threads, caches and first pages are in place, not its
# first moments; the same for docket and for Dovecot.
warm_up() {
	[ "${WARMUP:-0}" -gt 0 ] || return 0
	"$SMTP_SOURCE" -L -d -s "$2" -m "$WARMUP" -l "$3" -f bench@example.com -t support@example.test \
		-M client.example.test -S "warm-up $3" "127.0.0.1:$1" >/dev/null ||
		die "smtp-source failed against port $1"
}

docket_pid=""
dovecot_conf=""

# start_docket DIR [extra config]: a fresh docket serve on a free port.
start_docket() {
	local dir=$1 port
	port=$(free_port)
	mkdir -p "$dir"
	cat >"$dir/docket.conf" <<-EOF
		[store]
		data_dir = $dir/var
		[lmtp]
		hostname = docket.bench.test
		max_connections = 500
		${2:-}
	EOF
	"$DOCKET" -c "$dir/docket.conf" serve --listen "127.0.0.1:$port" 2>"$dir/docket.log" &
	docket_pid=$!
	wait_port "$port"
	docket_port=$port
}

stop_docket() {
	if [ -n "$docket_pid" ]; then
		kill -TERM "$docket_pid" 2>/dev/null || true
		wait "$docket_pid" 2>/dev/null || true
		docket_pid=""
	fi
}

# count_tickets DIR: how many tickets docket stored.
count_tickets() {
	"$DOCKET" -c "$1/docket.conf" ticket list --json --limit 1000000 | grep -c '"number":' || true
}

# writer_cpu_ms PID: CPU time so far of docket's writer thread (the one
# that commits every message: the serial part of the work), in ms.
writer_cpu_ms() {
	local task
	for task in /proc/"$1"/task/*; do
		if [ "$(cat "$task/comm" 2>/dev/null)" = writer ]; then
			proc_cpu_ms "$1/task/${task##*/}"
			return
		fi
	done
	echo 0
}

# run_docket SESSIONS MESSAGES SIZE: one timed run on a fresh store;
# prints messages/s, idle percent, docket's CPU time per message (ms), its
# writer thread's, and docket's peak RSS (VmHWM) over the run in MiB.
run_docket() {
	local dir="$work/docket-run" out got cpu0 cpu1 w0 w1 hwm
	rm -rf "$dir"
	start_docket "$dir"
	warm_up "$docket_port" "$1" "$3"
	cpu0=$(proc_cpu_ms "$docket_pid")
	w0=$(writer_cpu_ms "$docket_pid")
	out=$(drive "$docket_port" "$1" "$2" "$3")
	cpu1=$(proc_cpu_ms "$docket_pid")
	w1=$(writer_cpu_ms "$docket_pid")
	hwm=$(vm_kib "$docket_pid" VmHWM)
	got=$(count_tickets "$dir")
	stop_docket
	[ "$got" = "$(($2 + ${WARMUP:-0}))" ] || echo "warning: docket stored $got tickets of $(($2 + ${WARMUP:-0}))" >&2
	rm -rf "$dir"
	echo "$out $(awk -v c="$((cpu1 - cpu0))" -v w="$((w1 - w0))" -v n="$2" -v h="$hwm" \
		'BEGIN { printf "%.2f %.3f %.1f", c / n, w / n, h / 1024 }')"
}

# start_dovecot DIR: a private Dovecot with only LMTP, on a free port,
# delivering as nobody to DIR/mail/support/Maildir, fsyncing every mail.
start_dovecot() {
	local dir=$1 port
	port=$(free_port)
	mkdir -p "$dir/run" "$dir/state" "$dir/mail"
	chmod 755 "$dir"
	chown nobody:nogroup "$dir/mail"
	echo "support:{PLAIN}unused:65534:65534::$dir/mail/support::" >"$dir/users"
	dovecot_conf="$dir/dovecot.conf"
	cat >"$dovecot_conf" <<-EOF
		base_dir = $dir/run
		state_dir = $dir/state
		log_path = $dir/dovecot.log
		instance_name = docket-bench-dovecot
		protocols = lmtp
		listen = 127.0.0.1
		ssl = no
		first_valid_uid = 1
		mail_location = maildir:~/Maildir
		mail_fsync = always
		passdb {
		  driver = passwd-file
		  args = $dir/users
		}
		userdb {
		  driver = passwd-file
		  args = username_format=%n $dir/users
		}
		service lmtp {
		  inet_listener lmtp {
		    address = 127.0.0.1
		    port = $port
		  }
		  unix_listener lmtp {
		    mode = 0600
		  }
		}
	EOF
	/usr/sbin/dovecot -c "$dovecot_conf" || die "dovecot did not start (see $dir/dovecot.log)"
	wait_port "$port"
	dovecot_port=$port
}

stop_dovecot() {
	if [ -n "$dovecot_conf" ] && [ -f "$dovecot_conf" ]; then
		local pidfile pid i
		pidfile="$(dirname "$dovecot_conf")/run/master.pid"
		pid=$(cat "$pidfile" 2>/dev/null || true)
		/usr/bin/doveadm -c "$dovecot_conf" stop >/dev/null 2>&1 || true
		for i in $(seq 1 100); do
			[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || break
			sleep 0.05
		done
	fi
	dovecot_conf=""
}

# run_dovecot SESSIONS MESSAGES SIZE: prints messages/s, idle percent.
run_dovecot() {
	local dir="$work/dovecot-run" out got
	rm -rf "$dir"
	start_dovecot "$dir"
	warm_up "$dovecot_port" "$1" "$3"
	out=$(drive "$dovecot_port" "$1" "$2" "$3")
	got=$(find "$dir/mail/support/Maildir/new" -type f | wc -l)
	stop_dovecot
	[ "$got" = "$(($2 + ${WARMUP:-0}))" ] || echo "warning: dovecot stored $got messages of $(($2 + ${WARMUP:-0}))" >&2
	rm -rf "$dir"
	echo "$out"
}

cleanup() {
	stop_docket
	stop_dovecot
	rm -rf "$work"
}

print_conditions() {
	echo "bench-lmtp: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, kernel $(uname -r)"
	echo "  load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (machine shared with others)"
	echo "  scratch: $work on $(df -T "$work" | awk 'NR == 2 { print $2 }')"
	echo "  docket: $("$DOCKET" --version 2>/dev/null | head -1) ($DOCKET)"
	[ "$use_dovecot" = 1 ] && echo "  dovecot: $(/usr/sbin/dovecot --version) lmtp, Maildir, mail_fsync=always"
	echo "  postfix smtp-source -L -d: $(/usr/sbin/postconf -d -h mail_version 2>/dev/null)"
	echo "  rounds: $ROUNDS (medians), messages per run: sessions x $PER_SESSION, at most $MAX_MESSAGES"
	if [ "${WARMUP:-0}" -gt 0 ]; then
		echo "  warm-up: $WARMUP messages per server before each run, not timed"
	fi
}

# median of the numbers on stdin
median() {
	sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2];
		else printf "%g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# column RESULTS NAME SIZE SESSIONS FIELD: the median of one column.
column() {
	awk -v n="$2" -v z="$3" -v s="$4" -v f="$5" '$1 == n && $2 == z && $3 == s { print $f }' "$1" | median
}

print_table() {
	local results=$1 size s d v ratio
	echo
	echo "medians; idle = share of the machine's CPU left idle during the runs"
	printf '%-8s %-9s %10s %10s %8s %12s %12s %14s %14s %10s\n' size sessions "docket/s" "dovecot/s" ratio \
		"idle docket" "idle dovecot" "docket cpu/msg" "writer cpu/msg" "docket rss"
	for size in $SIZES; do
		for s in $SESSIONS; do
			d=$(column "$results" docket "$size" "$s" 4)
			v=$(column "$results" dovecot "$size" "$s" 4)
			ratio=$(awk -v d="$d" -v v="$v" 'BEGIN { if (v > 0) printf "%.2fx", d / v; else print "-" }')
			printf '%-8s %-9s %10s %10s %8s %11s%% %11s%% %11s ms %11s ms %6s MiB\n' "$size" "$s" "$d" \
				"${v/#0/-}" "$ratio" "$(column "$results" docket "$size" "$s" 5)" \
				"$(column "$results" dovecot "$size" "$s" 5)" "$(column "$results" docket "$size" "$s" 6)" \
				"$(column "$results" docket "$size" "$s" 7)" "$(column "$results" docket "$size" "$s" 8)"
		done
	done
	echo "  load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "  targets: docket >= 4x Dovecot at 20 sessions and >= 3x at 4 sessions (4096-byte"
	echo "  messages); docket's peak RSS (VmHWM of docket serve over the run) < 40 MiB"
	echo "  writer cpu/msg: the one thread that commits every message; 1000 / it is the"
	echo "  ceiling in messages/s before fsync waits, whatever the other core does"
}

# vm_kib PID FIELD: a /proc/PID/status figure in KiB.
vm_kib() {
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}

# dovecot_lmtp_peak: stops Dovecot and prints the highest peak RSS of
# its lmtp processes (VmHWM, read before they go).
dovecot_lmtp_peak() {
	local pid peak=0 k
	for pid in $(pgrep -f 'docket-bench-dovecot/lmtp' || true); do
		k=$(vm_kib "$pid" VmHWM || echo 0)
		[ "${k:-0}" -gt "$peak" ] && peak=$k
	done
	stop_dovecot
	echo "  dovecot lmtp process: $peak"
}

big_message_rss() {
	local dir="$work/docket-big" bytes before after anon file got
	bytes=$((BIG_MIB * 1048576))
	rm -rf "$dir"
	start_docket "$dir" "[intake]
max_message_size = $((BIG_MIB * 2))M
[parse]
max_decoded_size = $((BIG_MIB * 2))M"
	before=$(vm_kib "$docket_pid" VmHWM)
	local t0 t1
	t0=$(now_ns)
	drive "$docket_port" 1 1 "$bytes" >/dev/null
	t1=$(now_ns)
	after=$(vm_kib "$docket_pid" VmHWM)
	anon=$(vm_kib "$docket_pid" RssAnon)
	file=$(vm_kib "$docket_pid" RssFile)
	got=$(count_tickets "$dir")
	stop_docket
	echo
	echo "peak RSS for one ${BIG_MIB} MiB message (VmHWM, KiB; target <= 32768 for docket):"
	echo "  docket: $after (idle before: $before; RssAnon $anon, RssFile $file after); tickets stored: $got;" \
		"$(((t1 - t0) / 1000000)) ms"
	grep -h 'event=message' "$dir/docket.log" | sed 's/^/  docket log: /' | cut -c1-200
	rm -rf "$dir"
	[ "$use_dovecot" = 1 ] || return 0
	dir="$work/dovecot-big"
	rm -rf "$dir"
	start_dovecot "$dir"
	drive "$dovecot_port" 1 1 "$bytes" >/dev/null
	dovecot_lmtp_peak
	rm -rf "$dir"
}

# send_file PORT FILE: one LMTP transaction of FILE's bytes (Python's
# smtplib; smtp-source makes no attachments).
send_file() {
	/usr/bin/python3 - "$1" "$2" <<-'PY' || die "sending $2 to port $1 failed"
		import smtplib, sys
		with open(sys.argv[2], "rb") as f:
		    message = f.read()
		client = smtplib.LMTP("127.0.0.1", int(sys.argv[1]))
		refused = client.sendmail("bench@example.com", ["support@example.test"], message)
		client.quit()
		sys.exit(1 if refused else 0)
	PY
}

# big_attachment_rss: peak RSS for one message carrying an attachment of
# BIG_ATTACHMENT_MIB MiB of random bytes in base64 (docket decodes it
# into a spool file, never into memory), and whether the stored file is
# the attachment byte for byte.
big_attachment_rss() {
	local dir="$work/docket-attachment" mail="$work/attachment.eml"
	local before after stored digest
	digest=$(/usr/bin/python3 "$here/bench_mail.py" write "$BIG_ATTACHMENT_MIB" "$mail")
	rm -rf "$dir"
	start_docket "$dir" "[intake]
max_message_size = $((BIG_ATTACHMENT_MIB * 2))M
[parse]
max_decoded_size = $((BIG_ATTACHMENT_MIB * 2))M"
	before=$(vm_kib "$docket_pid" VmHWM)
	send_file "$docket_port" "$mail"
	after=$(vm_kib "$docket_pid" VmHWM)
	stop_docket
	stored=$(/usr/bin/python3 "$here/bench_mail.py" stored "$dir/var" "$digest")
	echo
	echo "peak RSS for one message with a ${BIG_ATTACHMENT_MIB} MiB attachment ($(stat -c %s "$mail") bytes; VmHWM, KiB):"
	echo "  docket: $after (idle before: $before); the attachment stored byte for byte: $stored"
	rm -rf "$dir"
	if [ "$use_dovecot" = 1 ]; then
		dir="$work/dovecot-attachment"
		rm -rf "$dir"
		start_dovecot "$dir"
		send_file "$dovecot_port" "$mail"
		dovecot_lmtp_peak
		rm -rf "$dir"
	fi
	rm -f "$mail"
}
