"""`python -m api.audit verify`: exit 0 if the chain is intact, 1 at the first broken
link (printed), 2 if the chain could not be read at all."""

import argparse
import asyncio
import sys

from sqlalchemy.exc import SQLAlchemyError

from api.audit.service import VerifyReport, verify
from api.core.config import get_settings
from api.core.db import make_engine, make_sessionmaker


async def _verify(database_url: str, batch_size: int) -> VerifyReport:
    engine = make_engine(database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            return await verify(session, batch_size=batch_size)
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api.audit")
    parser.add_argument("command", choices=["verify"])
    parser.add_argument("--batch-size", type=int, default=1000)
    args = parser.parse_args(argv)
    if args.batch_size < 1:
        parser.error("--batch-size must be positive")
    try:
        report = asyncio.run(_verify(get_settings().database_url, args.batch_size))
    except (SQLAlchemyError, OSError) as exc:
        print(f"audit chain could not be read: {exc}", file=sys.stderr)
        return 2
    if report.ok:
        head = (
            f"head seq {report.head_seq}, hash {report.head_hash}" if report.checked else "empty"
        )
        print(f"audit chain intact: {report.checked} event(s) verified; {head}")
        return 0
    print(
        f"audit chain BROKEN at seq {report.broken_seq} ({report.reason}): {report.detail}\n"
        f"events verified before the break: {report.checked}"
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
