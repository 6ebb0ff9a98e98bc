#!/usr/bin/env bash
# Runbook wrapper (cron lines keep working): turns the old backup.sh arguments into one `lifeboat backup`
# and execs it, so exit codes, output and signals are the CLI's (docs/cli.md). Works from any directory.
# The repository and password come from the environment, as for the CLI (LIFEBOAT_REPOSITORY,
# LIFEBOAT_PASSWORD or LIFEBOAT_PASSWORD_FILE, LIFEBOAT_S3_*).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cli=("$here/../bin/lifeboat.mjs") # run as an executable: its first line carries the node flags

usage() {
  cat <<'EOF'
usage: backup.sh filesystem --path DIR [--path DIR2 ...] [--exclude GLOB ...] [--full] [--source-name NAME] [--json]
       backup.sh config [--include GLOB ...] [--full] [--json]
       backup.sh database [--engine postgres|mysql|mariadb] [--database NAME|all] [--source-name NAME] [--globals]
                          [--manifest checksum|count|none] [--host HOST] [--port PORT] [--user USER] [--socket FILE]
                          [--full] [--json]

filesystem  back up the directories given with --path as one restore point of source NAME
            (default "filesystem"); incremental unless --full.
config      back up the configuration set: the absolute globs given with --include, else the
            comma-separated globs in LIFEBOAT_CONFIG_PATHS, else "/etc/**"; source "config".
database    PostgreSQL logical backup (pg_dump) of database NAME, or of every database plus roles and
            tablespaces with "all" (the default), as one restore point of source NAME (default
            "database"). A dump is always full: --full is accepted for compatibility and changes nothing.
            Connection: --host/--port/--user or PGHOST/PGPORT/PGUSER; the password from
            LIFEBOAT_DB_PASSWORD_FILE, PGPASSWORD or ~/.pgpass (never an argument).
            With --engine mysql (or mariadb): a MySQL/MariaDB logical backup (mariadb-dump) of database NAME,
            or of every non-system database with "all" (the default); connection: --host/--port/--user/
            --socket or MYSQL_HOST/MYSQL_TCP_PORT/USER/MYSQL_UNIX_PORT; the password from
            LIFEBOAT_DB_PASSWORD_FILE, MYSQL_PWD or ~/.my.cnf (never an argument). --globals is PostgreSQL only.
Exit codes: 0 ok, 1 failure, 2 usage, 3 partial backup (some files unreadable), 10 no repository,
12 wrong password.
EOF
}

die_usage() {
  echo "backup.sh: $1" >&2
  usage >&2
  exit 2
}

need_value() { # option, remaining argument count
  [[ $2 -ge 2 ]] || die_usage "$1 needs a value"
}

kind="${1:-}"
if [[ $# -gt 0 ]]; then shift; fi

case "$kind" in
  filesystem)
    paths=() excludes=() full=() json=() name="filesystem"
    while [[ $# -gt 0 ]]; do
      case "$1" in
        --path) need_value "$1" $#; paths+=(--path "$2"); shift 2 ;;
        --exclude) need_value "$1" $#; excludes+=(--exclude "$2"); shift 2 ;;
        --source-name) need_value "$1" $#; name="$2"; shift 2 ;;
        --full) full=(--full); shift ;;
        --json) json=(--json); shift ;;
        -h|--help) usage; exit 0 ;;
        *) die_usage "unknown argument for filesystem: $1" ;;
      esac
    done
    [[ ${#paths[@]} -gt 0 ]] || die_usage "filesystem needs at least one --path"
    exec "${cli[@]}" ${json[@]+"${json[@]}"} backup --source-kind filesystem --source-name "$name" "${paths[@]}" \
      ${excludes[@]+"${excludes[@]}"} ${full[@]+"${full[@]}"}
    ;;
  config)
    includes=() full=() json=()
    while [[ $# -gt 0 ]]; do
      case "$1" in
        --include) need_value "$1" $#; includes+=(--include "$2"); shift 2 ;;
        --full) full=(--full); shift ;;
        --json) json=(--json); shift ;;
        -h|--help) usage; exit 0 ;;
        *) die_usage "unknown argument for config: $1" ;;
      esac
    done
    if [[ ${#includes[@]} -eq 0 ]]; then
      IFS=',' read -r -a globs <<<"${LIFEBOAT_CONFIG_PATHS:-/etc/**}"
      for g in "${globs[@]}"; do
        g="${g#"${g%%[![:space:]]*}"}" # trim
        g="${g%"${g##*[![:space:]]}"}"
        [[ -n "$g" ]] && includes+=(--include "$g")
      done
      [[ ${#includes[@]} -gt 0 ]] || die_usage "LIFEBOAT_CONFIG_PATHS holds no glob"
    fi
    exec "${cli[@]}" ${json[@]+"${json[@]}"} backup --source-kind config --source-name config "${includes[@]}" ${full[@]+"${full[@]}"}
    ;;
  database)
    # A logical dump is always complete: --full is accepted (cron lines pass it on Sundays) and ignored.
    database="all" name="database" opts=() json=()
    while [[ $# -gt 0 ]]; do
      case "$1" in
        --database) need_value "$1" $#; database="$2"; shift 2 ;;
        --source-name) need_value "$1" $#; name="$2"; shift 2 ;;
        --manifest|--host|--port|--user|--engine|--socket) need_value "$1" $#; opts+=("$1" "$2"); shift 2 ;;
        --globals) opts+=(--globals); shift ;;
        --full) shift ;;
        --json) json=(--json); shift ;;
        -h|--help) usage; exit 0 ;;
        *) die_usage "unknown argument for database: $1" ;;
      esac
    done
    exec "${cli[@]}" ${json[@]+"${json[@]}"} database backup --database "$database" --source-name "$name" ${opts[@]+"${opts[@]}"}
    ;;
  -h|--help)
    usage
    exit 0
    ;;
  "")
    die_usage "missing the kind of backup (filesystem, config or database)"
    ;;
  *)
    die_usage "unknown kind of backup: $kind"
    ;;
esac
