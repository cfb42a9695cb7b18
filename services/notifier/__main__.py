"""`python -m services.notifier`: run the notifier with settings from the environment."""

import asyncio
import signal

from services.common.settings import Settings
from services.notifier.app import run_notifier


async def _main() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await run_notifier(Settings(), stop)


def main() -> None:
    asyncio.run(_main())


if __name__ == "__main__":
    main()
