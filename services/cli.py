"""`reslot`: the one command-line entry point of Reslot."""

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

from pydantic import ValidationError

from services.common import tracing
from services.common.failures import EXIT_CODE, cannot_start, invalid_settings
from services.common.local_broker import start_broker
from services.common.logs import configure
from services.common.runtime import tune_gc
from services.common.settings import Settings

log = logging.getLogger("reslot")


@contextlib.contextmanager
def broker_for(settings: Settings) -> Iterator[Settings]:
    """The settings with a broker: the configured one, else a local one we start and stop."""
    if settings.kafka.bootstrap_servers:
        yield settings
        return
    broker = start_broker()
    log.info("started the local Kafka-compatible broker (Tansu) on %s, pid %d",
             broker.bootstrap, broker.process.pid)
    kafka = settings.kafka.model_copy(update={"bootstrap_servers": broker.bootstrap})
    _forget_local_stores(settings)
    try:
        yield settings.model_copy(update={"kafka": kafka})
    finally:
        broker.stop()
        log.info("stopped the local broker (pid %d)", broker.process.pid)


def _forget_local_stores(settings: Settings) -> None:
    """A new local broker starts empty (it keeps nothing), so offsets stored against the last
    one are meaningless: start the SQLite stores afresh rather than skip the new messages."""
    for url in (settings.database_url, settings.notifier_db()):
        if not url.startswith("sqlite") or ":memory:" in url:
            continue
        path = Path(url.split("///", 1)[-1])
        for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            if stale.exists():
                stale.unlink()
                log.info("removed %s: it belonged to a previous local broker", stale)


async def until_signalled(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)


def cmd_broker(args: argparse.Namespace, settings: Settings) -> int:
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # kill stops it as Ctrl-C does
    broker = start_broker(args.port)
    try:  # from here a signal stops the broker too, even one that comes before the wait
        print(f"local broker listening on {broker.bootstrap} (pid {broker.process.pid}); "
              f"export KAFKA_BOOTSTRAP_SERVERS={broker.bootstrap}", flush=True)
        broker.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        broker.stop()
    return 0


def cmd_topics(args: argparse.Namespace, settings: Settings) -> int:
    from services.common.kafka import ensure_topics

    asyncio.run(ensure_topics(settings))
    print(f"topics ready with {settings.partitions} partitions")
    return 0


def cmd_publish(args: argparse.Namespace, settings: Settings) -> int:
    from services.common.publish import publish, validate_lines

    with Path(args.file).open("rb") as f:  # bytes: a line that is not UTF-8 is an error
        messages, errors = validate_lines(f)
    if errors:
        for e in errors[:50]:
            print(f"{args.file}:{e.number}: {e.reason}", file=sys.stderr)
        print(f"nothing published: {len(errors)} invalid line(s)", file=sys.stderr)
        return 1
    with broker_for(settings) as s:
        sent = asyncio.run(publish(s, messages))
    print(f"published {sent} event(s) from {args.file}")
    return 0


def cmd_plan(args: argparse.Namespace, settings: Settings) -> int:
    from services.scheduler.app import plan_pipeline
    from services.scheduler.dryrun import dry_run

    with Path(args.file).open("rb") as f:  # bytes: a line that is not UTF-8 is dead-lettered
        rows = asyncio.run(dry_run(f, plan_pipeline(settings)))
    dead = 0
    for row in rows:  # every event the scheduler would publish, dead letters included
        sys.stdout.write(row.value.decode() + "\n")
        if row.topic == "visa.deadletter.v1":
            dead += 1
            letter = json.loads(row.value)["data"]
            print(f"dead letter: line {letter['offset']}: {letter['error_class']}: "
                  f"{letter['error']}", file=sys.stderr)
    if dead:
        print(f"{dead} line(s) dead-lettered" + (" (--strict: exit 1)" if args.strict else ""),
              file=sys.stderr)
    return 1 if dead and args.strict else 0


def cmd_deadletters(args: argparse.Namespace, settings: Settings) -> int:
    from services.common.deadletters import read_deadletters, replay

    letters = asyncio.run(read_deadletters(settings))
    if args.action == "list":
        for dl in letters:
            print(f"{dl.id}  {dl.service}  {dl.topic}[{dl.partition}]@{dl.offset}  "
                  f"{dl.error_class}: {dl.error}")
        print(f"{len(letters)} dead letter(s)")
        return 0
    chosen = [dl for dl in letters if args.id is None or dl.id in args.id]
    if args.id and len(chosen) != len(set(args.id)):
        print("unknown dead letter id(s): "
              f"{sorted(set(args.id) - {dl.id for dl in chosen})}", file=sys.stderr)
        return 1
    print(f"replayed {asyncio.run(replay(settings, chosen))} dead letter(s)")
    return 0


def cmd_scheduler(args: argparse.Namespace, settings: Settings) -> int:
    from services.scheduler.app import create_app
    from services.web.app import front_for
    from services.web.server import serve_beside

    async def main(s: Settings) -> None:
        stop = asyncio.Event()
        await until_signalled(stop)
        scheduler = create_app(s)
        front = front_for(s, scheduler.store.engine, scheduler.metrics.registry,
                          more_probes={"scheduler": scheduler.ready})
        await serve_beside(scheduler.run(stop), front, s.http_port, stop)

    with broker_for(settings) as s:
        asyncio.run(main(s))
    return 0


def cmd_notifier(args: argparse.Namespace, settings: Settings) -> int:
    import uvloop

    from services.notifier.app import create_app
    from services.notifier.metrics import NotifierMetrics
    from services.scheduler.store.sql import make_engine
    from services.web.app import probe_app
    from services.web.probes import broker_probe, database_probe
    from services.web.server import serve_beside

    async def main(s: Settings) -> None:
        stop = asyncio.Event()
        await until_signalled(stop)
        metrics = NotifierMetrics()
        engine = make_engine(s.notifier_db())
        app = probe_app(metrics.registry, {
            "database": database_probe(engine),
            "broker": broker_probe(s.kafka.bootstrap_servers or "")}, s.api_token)
        try:
            await serve_beside(create_app(s, metrics=metrics).run(stop), app, s.http_port, stop)
        finally:
            await engine.dispose()

    with broker_for(settings) as s:
        uvloop.run(main(s))  # libuv's event loop: the notifier is CPU-bound on its loop
    return 0


def cmd_web(args: argparse.Namespace, settings: Settings) -> int:
    """The whole web front as its own process: the status page and API, the applicants'
    reply pages, inbound SMS and the console, on the scheduler's store, publishing to the
    configured broker (it never starts one of its own: it answers the scheduler's)."""
    from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector

    from services.scheduler.store.sql import make_engine
    from services.web.front import web_front
    from services.web.server import serve

    if not settings.kafka.bootstrap_servers:
        print("reslot web publishes replies to the scheduler's broker: set "
              "KAFKA_BOOTSTRAP_SERVERS", file=sys.stderr)
        return 2

    async def main() -> None:
        stop = asyncio.Event()
        await until_signalled(stop)
        registry = CollectorRegistry()
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        engine = make_engine(settings.database_url)
        try:
            await serve(web_front(settings, engine, registry), settings.http_port, stop)
        finally:
            await engine.dispose()

    asyncio.run(main())
    return 0


def cmd_dev(args: argparse.Namespace, settings: Settings) -> int:
    from services.demo import SCENARIOS
    from services.dev import run_dev

    scenario = Path(args.scenario) if args.scenario else SCENARIOS.get(args.demo or "")
    if args.demo and scenario is None:
        print(f"unknown demo {args.demo!r}: one of {', '.join(SCENARIOS)}", file=sys.stderr)
        return 2

    async def main(s: Settings) -> None:
        stop = asyncio.Event()
        await until_signalled(stop)
        await run_dev(s, stop, scenario)

    with broker_for(settings) as s:
        asyncio.run(main(s))
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="reslot", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("broker", help="run the local Kafka-compatible broker alone")
    b.add_argument("--port", type=int, default=None)
    b.set_defaults(func=cmd_broker)
    sub.add_parser("topics", help="create every topic, then exit").set_defaults(func=cmd_topics)
    pub = sub.add_parser("publish", help="validate a JSON Lines file of events and publish it")
    pub.add_argument("file")
    pub.set_defaults(func=cmd_publish)
    pl = sub.add_parser("plan", help="print what the scheduler would publish for a file")
    pl.add_argument("file")
    pl.add_argument("--strict", action="store_true",
                    help="exit 1 after the run if any line was dead-lettered")
    pl.set_defaults(func=cmd_plan)
    dl = sub.add_parser("deadletters", help="list or replay dead letters (needs a broker)")
    dl.add_argument("action", choices=["list", "replay"])
    dl.add_argument("--id", action="append", help="replay only these ids (repeatable)")
    dl.set_defaults(func=cmd_deadletters)
    sub.add_parser("scheduler", help="run the scheduler").set_defaults(func=cmd_scheduler)
    sub.add_parser("notifier", help="run the notifier").set_defaults(func=cmd_notifier)
    sub.add_parser("web", help="serve the web front (status, replies, SMS, console) on the "
                   "scheduler's store").set_defaults(func=cmd_web)
    dev = sub.add_parser("dev", help="broker, topics, both services and the status page")
    dev.add_argument("--demo", nargs="?", const="capago", default=None,
                     help="play a scenario: capago (default; France-Visas portal outages in "
                          "Algeria) or morocco (a four-day suspension, then the advice applied)")
    dev.add_argument("--scenario", default=None, help="play this JSON Lines file instead")
    dev.set_defaults(func=cmd_dev)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    tune_gc()
    try:
        settings = Settings()
    except ValidationError as exc:
        print(f"reslot {args.command}: {invalid_settings(exc)}", file=sys.stderr)
        return EXIT_CODE
    fmt = "console" if args.command in ("dev", "broker", "publish", "plan") else "json"
    configure(settings.log_level, settings.log_format if fmt == "json" else fmt)
    if fmt == "console" and settings.log_level.upper() == "INFO":
        # a line per plan and per message would drown the live summary: RESLOT_LOG_LEVEL=DEBUG
        for chatty in ("reslot.scheduler", "reslot.notifier", "reslot.faststream"):
            logging.getLogger(chatty).setLevel(logging.WARNING)
    if args.command in ("scheduler", "notifier", "dev"):
        tracing.configure(f"reslot-{args.command}")
    try:
        code: int = args.func(args, settings)
    except Exception as exc:
        said = cannot_start(exc, settings.database_url, settings.kafka.bootstrap_servers)
        if said is None:
            raise  # a bug: its traceback is what helps
        log.debug("the command failed", exc_info=exc)
        print(f"reslot {args.command}: {said}", file=sys.stderr)
        return EXIT_CODE
    finally:
        tracing.shutdown()
    return code


if __name__ == "__main__":
    sys.exit(main())
