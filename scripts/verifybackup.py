#!/usr/bin/env python3
"""Runbook wrapper: turns the old verifybackup.py arguments into one `lifeboat verify`.

The CLI's output goes straight to this process's stdout/stderr and its exit code is this script's
(0 no errors found, 1 errors found or failure, 2 usage, 10 no repository, 12 wrong password; see
docs/cli.md). Works from any directory. Repository and password come from the environment
(LIFEBOAT_REPOSITORY, LIFEBOAT_PASSWORD or LIFEBOAT_PASSWORD_FILE, LIFEBOAT_S3_*).
"""
import argparse
import os
import re
import signal
import subprocess
import sys

CLI = os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "bin", "lifeboat.mjs")


def percent(text):
    if not re.fullmatch(r"\d+(\.\d+)?%?", text) or not 0 < float(text.rstrip("%")) <= 100:
        raise argparse.ArgumentTypeError(f"expected a percentage such as 10%, got {text!r}")
    return text if text.endswith("%") else text + "%"


def parse(argv):
    p = argparse.ArgumentParser(
        prog="verifybackup.py",
        description="Verify the backup repository: structure always; --read-data downloads and re-hashes "
        "stored data; --test-restore restores the selected restore point into a temporary directory "
        "and checks every file against the backup.",
    )
    p.add_argument("--backup-date", metavar="YYYY-MM-DD",
                   help="check the newest restore point made on or before the end of that day (UTC)")
    p.add_argument("--test-restore", action="store_true",
                   help="also restore that restore point (default: the newest) into a temporary directory")
    data = p.add_mutually_exclusive_group()
    data.add_argument("--read-data", action="store_true", help="download and verify every pack")
    data.add_argument("--read-data-subset", metavar="N%", type=percent, help="download and verify N%% of the packs")
    p.add_argument("--source-name", metavar="NAME", help="only restore points of this source")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    return p.parse_args(argv)


def command(args):
    cmd = [CLI]  # run as an executable: its first line carries the node flags
    if args.json:
        cmd.append("--json")
    cmd.append("verify")
    if args.backup_date:
        cmd += ["--backup-date", args.backup_date]
    if args.test_restore:
        cmd.append("--test-restore")
    if args.read_data:
        cmd.append("--read-data")
    if args.read_data_subset:
        cmd += ["--read-data-subset", args.read_data_subset]
    if args.source_name:
        cmd += ["--source-name", args.source_name]
    return cmd


def main(argv):
    args = parse(argv)
    sys.stdout.flush()
    try:
        proc = subprocess.Popen(command(args))
    except FileNotFoundError:
        print("verifybackup.py: cannot run node: is Node.js installed and on PATH?", file=sys.stderr)
        return 1
    # Forward Ctrl-C / TERM to the CLI (it stops and cleans up) and wait for it to finish.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda s, _f: proc.send_signal(s))
    rc = proc.wait()
    return 128 - rc if rc < 0 else rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
