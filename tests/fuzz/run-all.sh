#!/bin/sh
# Builds docket's libFuzzer targets, makes seed corpora from ../shared at
# run time (never stored in the project), runs every target for SECONDS
# seconds each and prints a table: target, executions, corpus size,
# findings (crash-/leak-/timeout-/oom- files left by libFuzzer).
#
#   tests/fuzz/run-all.sh [SECONDS] [TARGET...]
#
# Environment: BUILD (default build-fuzz), WORK (default /tmp/docket-fuzz:
# corpora, findings and logs), SHARED (default ../shared), JOBS (-j, 2).
set -eu
seconds=${1:-60}
[ $# -gt 0 ] && shift
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-$root/build-fuzz}
work=${WORK:-/tmp/docket-fuzz}
shared=${SHARED:-$root/../shared}
jobs=${JOBS:-2}

CC=clang cmake -S "$root" -B "$build" -DDOCKET_FUZZ=ON -DDOCKET_TESTS=ON >"$work.cmake.log" 2>&1 ||
	{ cat "$work.cmake.log"; exit 1; }
cmake --build "$build" -j"$jobs" >"$work.build.log" 2>&1 || { tail -40 "$work.build.log"; exit 1; }

targets=$*
[ -n "$targets" ] || targets=$(cd "$build/tests/fuzz" && ls fuzz-* | grep -v '\.' | sed 's/^fuzz-//' | sort)

# seed NAME FILE...: copies files into the seed folder of NAME.
seed() {
	dir=$work/seeds/$1
	shift
	mkdir -p "$dir"
	for f in "$@"; do
		[ -f "$f" ] && cp "$f" "$dir/$(echo "$f" | cksum | cut -d' ' -f1)"
	done
	return 0
}

# text NAME STRING: one synthetic seed.
text() {
	mkdir -p "$work/seeds/$1"
	printf '%b' "$2" >"$work/seeds/$1/$(printf '%s' "$2" | cksum | cut -d' ' -f1)"
}

make_seeds() {
	rm -rf "$work/seeds"
	mkdir -p "$work/seeds"
	if [ -d "$shared/corpus" ]; then
		mails=$(find "$shared/corpus" -type f \( -name '*.eml' -o -name '*.msg' -o -path '*/emails/*' \
			-o -path '*/messages/*' -o -path '*/data/msg_*' \) -size -64k)
		for t in message classify charset; do seed $t $mails; done
		seed reply $(find "$shared/corpus" -type f \( -path '*reply*' -o -path '*/emails/*' \) -size -64k)
		seed html $(find "$shared/corpus" -type f -name '*.htm*' -size -64k)
		# Real subjects, and real messages as dot-stuffed DATA sessions.
		mkdir -p "$work/seeds/subject" "$work/seeds/lmtp-data"
		grep -h -i -m1 '^Subject:' $mails 2>/dev/null | cut -c10- | sort -u | head -300 |
			split -l 1 - "$work/seeds/subject/corpus-"
		i=0
		for f in $(echo "$mails" | head -40); do
			i=$((i + 1))
			{ printf '\377\377LHLO x\r\n'; sed 's/^\./../' "$f"; printf '\r\n.\r\nQUIT\r\n'; } \
				>"$work/seeds/lmtp-data/corpus-$i"
		done
	fi
	if [ -d "$shared/conformance/sieve" ]; then
		seed sieve $(find "$shared/conformance/sieve" -type f \( -name '*.sieve' -o -name '*.svtest' \))
	fi
	if [ -d "$shared/conformance/mustache/specs" ]; then
		mkdir -p "$work/seeds/mustache"
		/usr/bin/python3 - "$shared/conformance/mustache/specs" "$work/seeds/mustache" <<'PY'
import json, os, sys
src, out = sys.argv[1:3]
n = 0
for name in sorted(os.listdir(src)):
    if not name.endswith(".json"):
        continue
    for test in json.load(open(os.path.join(src, name))).get("tests", []):
        partial = next(iter(test.get("partials", {}).values()), None)
        blob = test["template"].encode() + b"\0" + json.dumps(test.get("data")).encode()
        if partial is not None:
            blob += b"\0" + partial.encode()
        n += 1
        open(os.path.join(out, "spec-%03d" % n), "wb").write(blob)
PY
	fi
	text html '<html><body><p>Hello<br>there</p><div class="gmail_quote">On Mon wrote:<blockquote type="cite">old</blockquote></div></body></html>'
	text html '<table><tr><td>a</td><td>b</td></tr></table><ol><li>one</li></ol><a href="http://x">x</a><style>p{}</style>'
	text subject 'Re: AW: Fwd: [docket #12] Printer broken'
	text subject 'help\0RE[2]: 回复：[HELP # 42] [docket #7] x'
	text subject 'Re^3: Re(2): ΑΠ: Отв: [docket#999999999999999999] y'
	text agent-commands '#status resolved\n#priority: high\n#assign Bob@Example.com\n#tag vip\n#internal\n\nDone.\n'
	text agent-commands 'mx.example.org; dkim=pass header.d=example.com\0mx.example.org; spf=pass smtp.mailfrom=a@example.com'
	text agent-commands '\n\n#priority urgent\n#1 is broken\n'
	text lmtp-command 'LHLO mx.example.org\nMAIL FROM:<a@example.com> SIZE=1000 BODY=8BITMIME\nRCPT TO:<support@example.org>\nDATA\nRSET\nNOOP hi\nVRFY x\nQUIT\nEHLO x\nMAIL FROM:<>'
	text lmtp-command 'MAIL FROM:<"quoted local"@[127.0.0.1]> SIZE=99999999999999999999\nRCPT TO:<@a,@b:c@d>'
	text lmtp-data '\040\020MAIL FROM:<a@b>\r\nSubject: x\r\n\r\n..dot\r\nline\r\n.\r\nQUIT\r\n'
	text lmtp-data '\010\377\r\n.\r\n'
	text lmtp-data '\100\004x\nlong line\n..\n.\nnext\n'
	text config '[store]\ndata_dir = /tmp/x\ninline_max = 1M\n[lmtp]\nmax_recipients = 10\n'
	text config '# comment\n; other\n[imap:support]\nhost = imap.example.org\n[intake]\nmax_message_size = 10M\n'
	text config '[threading]\nfollow_up = reject\n[nope]\nx=y\n'
	for t in message classify reply sieve mustache; do
		[ -d "$work/seeds/$t" ] || text $t 'From: a@example.com\nSubject: hi\n\nhello\n'
	done
}

make_seeds
printf '%-16s %12s %8s %9s\n' target executions corpus findings
for t in $targets; do
	bin=$build/tests/fuzz/fuzz-$t
	[ -x "$bin" ] || { echo "no target $t" >&2; continue; }
	corpus=$work/corpus/$t
	findings=$work/findings/$t
	mkdir -p "$corpus" "$findings"
	seeds=$work/seeds/$t
	[ -d "$seeds" ] || seeds=
	log=$work/$t.log
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
		-max_len=65536 -print_final_stats=1 -artifact_prefix="$findings/" "$corpus" $seeds \
		>"$log" 2>&1 || true
	execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
	size=$(ls "$corpus" | wc -l)
	found=$(ls "$findings" | grep -c -E '^(crash|leak|timeout|oom|slow-unit)-' || true)
	printf '%-16s %12s %8s %9s\n' "$t" "${execs:-?}" "$size" "$found"
done
echo "logs, corpora and findings under $work"
