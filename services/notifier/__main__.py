"""`python -m services.notifier`: run the notifier with settings from the environment."""

import asyncio
import signal

from services.common.settings import Settings
from services.notifier.app import create_app


async def _main() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await create_app(Settings()).run(stop)


def main() -> None:
    asyncio.run(_main())


if __name__ == "__main__":
    main()
