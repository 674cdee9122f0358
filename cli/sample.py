"""``tokenbooks sample``: the sample AI platform's data generator and API emulator."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from cli.options import day, defaults_of


def add_commands(commands: argparse._SubParsersAction) -> None:
    sample = commands.add_parser("sample", help="the sample AI platform: data generator and API emulator")
    from sample_platform.emulator import PlatformEmulator, serve
    from sample_platform.generator import generate

    sample_commands = sample.add_subparsers(dest="sample_command", required=True)
    generated = defaults_of(generate)
    gen = sample_commands.add_parser(
        "generate",
        help="write a sample platform dataset as a landing directory",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    gen.add_argument(
        "--out", required=True, default=argparse.SUPPRESS, metavar="DIR", help="landing directory to write (replaced)"
    )
    gen.add_argument("--orgs", type=int, default=generated["orgs"], help="organizations")
    gen.add_argument("--days", type=int, default=generated["days"], help="days of activity")
    gen.add_argument("--start", type=day, default=generated["start"], metavar="DATE", help="first day (UTC)")
    gen.add_argument("--seed", type=int, default=generated["seed"], help="random seed (same seed, same data)")
    gen.add_argument(
        "--spans-per-day", type=int, default=generated["spans_per_day"], help="trace spans per day, all orgs"
    )
    gen.add_argument("--dirt-rate", type=float, default=generated["dirt_rate"], help="share of dirty records")
    gen.add_argument("--gzip", action="store_true", help="write .jsonl.gz files")
    gen.set_defaults(handler=generate_command)

    served = {**defaults_of(PlatformEmulator.__init__), **defaults_of(serve)}
    srv = sample_commands.add_parser(
        "serve",
        help="serve a dataset as the platform's analytics API, with injectable faults",
        description="API keys: TOKENBOOKS_EMULATOR_API_KEYS (comma separated), else the demo key.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    srv.add_argument("--host", default=served["host"], help="address to listen on")
    srv.add_argument("--port", type=int, default=served["port"], help="port to listen on")
    srv.add_argument(
        "--data", default=argparse.SUPPRESS, metavar="DIR", help="landing directory to serve (else: no records)"
    )
    faults = srv.add_argument_group("faults and limits")
    faults.add_argument("--requests-per-hour", type=int, default=served["requests_per_hour"], help="per API key")
    faults.add_argument(
        "--retry-after-seconds", type=int, default=served["retry_after_seconds"], help="Retry-After on a 429"
    )
    faults.add_argument("--error-rate", type=float, default=served["error_rate"], help="share of 5xx answers")
    faults.add_argument("--timeout-rate", type=float, default=served["timeout_rate"], help="share of late answers")
    faults.add_argument(
        "--timeout-seconds", type=float, default=served["timeout_seconds"], help="how late a late answer is"
    )
    faults.add_argument(
        "--duplicate-page-rate",
        type=float,
        default=served["duplicate_page_rate"],
        help="share of pages overlapping the previous one",
    )
    faults.add_argument("--latency-ms", type=int, default=served["latency_ms"], help="added to every answer")
    faults.add_argument("--seed", type=int, default=served["seed"], help="fault sequence seed")
    faults.add_argument("--log-requests", action="store_true", help="log every request")
    srv.set_defaults(handler=serve_command)


def generate_command(args: argparse.Namespace) -> int:
    from sample_platform.generator import generate

    summary = generate(
        Path(args.out),
        orgs=args.orgs,
        days=args.days,
        start=args.start,
        seed=args.seed,
        spans_per_day=args.spans_per_day,
        gzip=args.gzip,
        dirt_rate=args.dirt_rate,
    )
    records = ", ".join(f"{endpoint} {count}" for endpoint, count in summary.records.items())
    print(f"wrote {len(summary.files)} files to {summary.out_dir} ({records} records); {summary.manifest_path}")
    return 0


def serve_command(args: argparse.Namespace) -> int:
    from sample_platform.emulator import serve

    # The emulator reports its address (and requests, with --log-requests) through logging.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    serve(
        getattr(args, "data", None),
        args.host,
        args.port,
        requests_per_hour=args.requests_per_hour,
        retry_after_seconds=args.retry_after_seconds,
        error_rate=args.error_rate,
        timeout_rate=args.timeout_rate,
        timeout_seconds=args.timeout_seconds,
        duplicate_page_rate=args.duplicate_page_rate,
        latency_ms=args.latency_ms,
        seed=args.seed,
        log_requests=args.log_requests,
    )
    return 0
