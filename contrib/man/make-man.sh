#!/bin/sh
# Makes the manual page docket.1 from the program's own --help texts, so
# that the installed manual says what the installed binary does.
#   make-man.sh BUILD/gateway/docket OUT.1
set -eu
bin=$1
out=$2

# roff: a backslash, and a line starting with . or ', are escaped.
escape() {
	sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"
}

section() {
	printf '.SH "%s"\n.nf\n' "$1"
	shift
	"$bin" "$@" --help | escape
	printf '.fi\n'
}

version=$("$bin" --version | cut -d' ' -f2)
commands=$("$bin" --help | awk '/^Commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { exit }')
{
	printf '.\\" -*- coding: UTF-8 -*-\n'
	printf '.TH DOCKET 1 "" "docket %s" "User Commands"\n' "$version"
	printf '.SH NAME\ndocket \\- email-to-ticket gateway and mail processor\n'
	printf '.SH SYNOPSIS\n.B docket\n[\\fB\\-c\\fR \\fIFILE\\fR] \\fICOMMAND\\fR [\\fIOPTIONS\\fR]\n'
	section DESCRIPTION
	for c in $commands; do
		section "DOCKET $c" "$c"
	done
	for sub in list show search set note reply time merge autoclose sla-check; do
		section "DOCKET ticket $sub" ticket "$sub"
	done
	printf '.SH FILES\n.TP\n.I docket.conf\nthe configuration (see the example installed with the documentation)\n'
	printf '.SH SEE ALSO\nREADME.md of docket\n'
} >"$out.tmp"
mv "$out.tmp" "$out"
