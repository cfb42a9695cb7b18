"""The bench's SMTP server and SMS gateway, in a child process of their own.

They stand for a mail relay and an SMS provider, which are not ours: sharing the notifier's
CPU (and, in one process, its event loop) would charge their work to it. Every 0.2 s, and
when stopped by SIGTERM, the counts of what they received are written to a JSON file.

    python -m bench.sinks --smtp-port P --sms-port Q --counts FILE
"""

import argparse
import asyncio
import contextlib
import json
import os
import signal
from pathlib import Path

from services.notifier.sms_sink import SmsSink
from services.notifier.smtp_sink import SmtpSink


def _write(path: Path, smtp: SmtpSink, sms: SmsSink) -> None:
    counts = {"emails": len(smtp.messages), "emails_unique": len(smtp.by_message_id()),
              "sms": len(sms.messages), "sms_requests": len(sms.requests),
              "sms_duplicates": sms.duplicates}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(counts))
    os.replace(tmp, path)  # a reader never sees half a file


async def main(smtp_port: int, sms_port: int, counts: Path) -> None:
    smtp, sms = SmtpSink(), SmsSink()
    await smtp.start(smtp_port)
    await sms.start(sms_port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    print(f"sinks: SMTP 127.0.0.1:{smtp.port}, SMS {sms.url}", flush=True)
    try:
        while not stop.is_set():
            _write(counts, smtp, sms)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.2)
    finally:
        _write(counts, smtp, sms)
        await sms.stop()
        await smtp.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smtp-port", type=int, required=True)
    parser.add_argument("--sms-port", type=int, required=True)
    parser.add_argument("--counts", type=Path, required=True)
    args = parser.parse_args()
    asyncio.run(main(args.smtp_port, args.sms_port, args.counts))
