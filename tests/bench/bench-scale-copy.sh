#!/bin/sh
# Copies the rows of a SQLite store built by `bench-scale build` into a
# PostgreSQL store with docket's schema (made by opening it once, e.g.
# `docket -c CONF ticket list`), by COPY instead of the store API: the
# API's statement per row, one network round trip each, takes hours for
# 1,000,000 tickets and 5,000,000 articles; COPY takes the rows SQLite's
# fill wrote through the same API, column for column, unchanged.
#
#   bench-scale-copy.sh SQLITE_DB ADMIN_URL
#
# ADMIN_URL: a superuser's connection (the test cluster's
# DOCKET_TEST_PG_ADMIN_URL), which may skip the foreign key triggers while
# copying (the rows come from a store that kept them) and build the
# secondary indexes once afterwards, as a restore does. The generated
# columns (tickets' urgency, articles' search_vector) are computed by
# PostgreSQL as rows arrive. The tables must be empty. Only the tables
# that `bench-scale build` and `bench-scale ids` fill are copied (tickets,
# articles, events, message_ids): a store that received mail also has raw
# messages, participants and more, which this leaves behind.
set -eu
db=$1
url=$2
psql_run() { psql -X -q -v ON_ERROR_STOP=1 -d "$url" "$@"; }

tickets="number, subject, status, priority, queue, requester, organisation, assignee,
 correlation_key, first_response_due, resolution_due, created_at, updated_at, closed_at,
 merged_into, first_response_at, sla_paused_seconds, sla_paused_since,
 first_response_breached_at, resolution_breached_at, sla_paused_left, history"
articles="id, ticket, direction, visibility, evidence, sender, recipients, subject,
 message_id, fingerprint, new_text, full_text, raw_sha256, intake, sent_at, created_at,
 signature, signer"
events="id, ticket, article, type, detail, created_at"
message_ids="message_id, ticket, article"

# the secondary indexes of the copied tables, to build again at the end
indexes=$(psql_run -At -c "SELECT pg_get_indexdef(i.indexrelid) || ';' FROM pg_index i
  JOIN pg_class c ON c.oid = i.indrelid
  WHERE c.relname IN ('tickets', 'articles', 'events', 'message_ids')
    AND NOT i.indisprimary AND NOT i.indisunique")
names=$(psql_run -At -c "SELECT string_agg(quote_ident(x.relname), ', ') FROM pg_index i
  JOIN pg_class c ON c.oid = i.indrelid JOIN pg_class x ON x.oid = i.indexrelid
  WHERE c.relname IN ('tickets', 'articles', 'events', 'message_ids')
    AND NOT i.indisprimary AND NOT i.indisunique")
[ -z "$names" ] || psql_run -c "DROP INDEX $names"

copy() { # table, its columns
	start=$(date +%s)
	sqlite3 -readonly -csv -nullvalue '\N' "$db" "SELECT $2 FROM $1" |
		psql_run -c "SET session_replication_role = replica" \
			-c "COPY $1 ($2) FROM STDIN (FORMAT csv, NULL '\\N')"
	echo "$1: $(psql_run -At -c "SELECT count(*) FROM $1") rows in $(($(date +%s) - start)) s"
}
copy tickets "$tickets"
copy articles "$articles"
copy events "$events"
copy message_ids "$message_ids"

# each index in its own session and transaction, three at a time: in one
# transaction they are built one after another, each reading the whole table
start=$(date +%s)
export url
printf '%s\n' "$indexes" | xargs -d '\n' -P 3 -I '{}' \
	psql -X -q -v ON_ERROR_STOP=1 -d "$url" -c "SET maintenance_work_mem = '512MB'" -c '{}'
echo "indexes: $(($(date +%s) - start)) s"
psql_run -c "SELECT setval(pg_get_serial_sequence('articles', 'id'), max(id)) FROM articles" \
	-c "SELECT setval(pg_get_serial_sequence('events', 'id'), max(id)) FROM events" \
	-c "VACUUM (ANALYZE) tickets, articles, events, message_ids" >/dev/null
echo "done: $(psql_run -At -c "SELECT pg_size_pretty(pg_database_size(current_database()))")"
