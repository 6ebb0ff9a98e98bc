#!/usr/bin/env bash
# Runbook wrapper: turns the old restore.sh arguments into one `lifeboat restore` and execs it, so exit
# codes and output are the CLI's (docs/cli.md). Works from any directory. Every restored file is re-read
# and checked against the backup before the command succeeds.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cli=("$here/../bin/lifeboat.mjs") # run as an executable: its first line carries the node flags

usage() {
  cat <<'EOF'
usage: restore.sh filesystem --backup-date YYYY-MM-DD --target DIR [--path DIR] [--source-name NAME] [--json]
       restore.sh config --backup-date YYYY-MM-DD [--target DIR] [--json]
       restore.sh database --backup-date YYYY-MM-DD --target-database NAME [--database NAME] [--source-name NAME]
                           [--engine postgres|mysql|mariadb] [--overwrite] [--globals] [--no-owner] [--jobs N]
                           [--smoke SQL ...] [--host HOST] [--port PORT] [--user USER] [--socket FILE] [--json]

filesystem  restore the newest filesystem restore point made on or before the end of that day (UTC)
            (of source NAME when given). The contents of the backed-up directory land directly in DIR:
            restoring /var/www with --target /var/www puts index.html at /var/www/index.html.
            Without --path: the restore point's only directory; with several, the one equal to
            --target; otherwise the command fails listing them, and --path chooses.
config      restore the newest config restore point on or before that day to its original absolute
            paths (--target defaults to /), with permissions and, as root, ownership.
database    restore database NAME (--database; needed when the restore point holds several, e.g. one
            taken with "all") of the newest PostgreSQL restore point on or before that day (of source
            NAME when given) into a new database --target-database, then check every table's row count
            and checksum against the backup and run the --smoke queries (each must return a row). An
            existing target is refused unless --overwrite (it is replaced only after the restore
            succeeded). Connection: --host/--port/--user or PGHOST/PGPORT/PGUSER; the password from
            LIFEBOAT_DB_PASSWORD_FILE, PGPASSWORD or ~/.pgpass.
            MySQL/MariaDB restore points (taken with --engine mysql) are restored the same way; the engine
            is the restore point's, and --engine mysql (or mariadb, postgres) only narrows which restore
            points are considered. Connection: --host/--port/--user/--socket or MYSQL_HOST/MYSQL_TCP_PORT/
            USER/MYSQL_UNIX_PORT; the password from LIFEBOAT_DB_PASSWORD_FILE, MYSQL_PWD or ~/.my.cnf.
            --globals, --no-owner and --jobs are PostgreSQL only.
Without --backup-date the newest restore point is used.
Exit codes: 0 ok, 1 failure (database: also a failed validation), 2 usage (database: also a target
that exists without --overwrite), 10 no repository, 12 wrong password.
EOF
}

die_usage() {
  echo "restore.sh: $1" >&2
  usage >&2
  exit 2
}

need_value() {
  [[ $2 -ge 2 ]] || die_usage "$1 needs a value"
}

kind="${1:-}"
if [[ $# -gt 0 ]]; then shift; fi

date=() target="" path="auto" name=() json=()
case "$kind" in
  filesystem|config)
    while [[ $# -gt 0 ]]; do
      case "$1" in
        --backup-date) need_value "$1" $#; date=(--backup-date "$2"); shift 2 ;;
        --target) need_value "$1" $#; target="$2"; shift 2 ;;
        --path) [[ $kind == filesystem ]] || die_usage "--path is for filesystem restores"; need_value "$1" $#; path="$2"; shift 2 ;;
        --source-name) [[ $kind == filesystem ]] || die_usage "--source-name is for filesystem restores"; need_value "$1" $#; name=(--source-name "$2"); shift 2 ;;
        --json) json=(--json); shift ;;
        -h|--help) usage; exit 0 ;;
        *) die_usage "unknown argument for $kind: $1" ;;
      esac
    done
    ;;
  -h|--help) usage; exit 0 ;;
  "") die_usage "missing the kind of restore (filesystem, config or database)" ;;
  database)
    db_target="" opts=()
    while [[ $# -gt 0 ]]; do
      case "$1" in
        --backup-date) need_value "$1" $#; date=(--backup-date "$2"); shift 2 ;;
        --target-database) need_value "$1" $#; db_target="$2"; shift 2 ;;
        --database|--source-name|--jobs|--smoke|--host|--port|--user|--engine|--socket) need_value "$1" $#; opts+=("$1" "$2"); shift 2 ;;
        --overwrite|--globals|--no-owner) opts+=("$1"); shift ;;
        --json) json=(--json); shift ;;
        -h|--help) usage; exit 0 ;;
        *) die_usage "unknown argument for database: $1" ;;
      esac
    done
    [[ -n "$db_target" ]] || die_usage "database needs --target-database NAME"
    exec "${cli[@]}" ${json[@]+"${json[@]}"} database restore ${date[@]+"${date[@]}"} --target-database "$db_target" ${opts[@]+"${opts[@]}"}
    ;;
  *) die_usage "unknown kind of restore: $kind" ;;
esac

if [[ $kind == filesystem ]]; then
  [[ -n "$target" ]] || die_usage "filesystem needs --target DIR"
  exec "${cli[@]}" ${json[@]+"${json[@]}"} restore ${date[@]+"${date[@]}"} --source-kind filesystem ${name[@]+"${name[@]}"} \
    --path "$path" --target "$target"
else
  exec "${cli[@]}" ${json[@]+"${json[@]}"} restore ${date[@]+"${date[@]}"} --source-kind config --target "${target:-/}"
fi
