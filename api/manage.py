"""Operator commands: `python -m api.manage init-db` (migrate + seed demo data),
`migrate`, `seed` (demo data only, idempotent) and `reconcile` (daily schedule job)."""

import argparse
import asyncio
from datetime import date
from pathlib import Path

from alembic import command
from alembic.config import Config

from api.core.config import get_settings
from api.core.db import make_engine, make_sessionmaker
from api.payments.reconcile import ReconcileReport, reconcile_schedules
from api.seed import seed_demo, seed_demo_users

ALEMBIC_INI = Path(__file__).resolve().parent / "alembic.ini"


def migrate(database_url: str) -> None:
    config = Config(str(ALEMBIC_INI))
    config.attributes["database_url"] = database_url
    command.upgrade(config, "head")


async def _seed(database_url: str, salt: str, demo_users: bool) -> tuple[int, int]:
    engine = make_engine(database_url)
    try:
        async with make_sessionmaker(engine).begin() as session:
            borrowers = await seed_demo(session, id_hash_salt=salt)
            users = await seed_demo_users(session) if demo_users else 0
            return borrowers, users
    finally:
        await engine.dispose()


def init_db(database_url: str, salt: str, *, demo_users: bool = True) -> tuple[int, int]:
    """Migrate and seed; returns (demo borrowers added, demo users added)."""
    if database_url.startswith("sqlite"):
        # The SQLite file lives under var/ by default; make sure its folder exists.
        path = database_url.split(":///", 1)[1]
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    migrate(database_url)
    return asyncio.run(_seed(database_url, salt, demo_users))


def seed(database_url: str, salt: str, *, demo_users: bool = True) -> tuple[int, int]:
    """Load the demo data set into a migrated database; adds only what is missing."""
    return asyncio.run(_seed(database_url, salt, demo_users))


async def _reconcile(database_url: str, today: date | None) -> ReconcileReport:
    engine = make_engine(database_url)
    try:
        async with make_sessionmaker(engine).begin() as session:
            return await reconcile_schedules(session, today=today, actor="system")
    finally:
        await engine.dispose()


def reconcile(database_url: str, *, today: date | None = None) -> ReconcileReport:
    """One transaction: overdue items missed, agreements kept/broken, all audited."""
    return asyncio.run(_reconcile(database_url, today))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m api.manage")
    parser.add_argument("command", choices=["init-db", "migrate", "seed", "reconcile"])
    parser.add_argument(
        "--today",
        type=date.fromisoformat,
        help="reconcile: judge every borrower on this date (default: each borrower's own date)",
    )
    args = parser.parse_args(argv)
    settings = get_settings()
    if args.command == "migrate":
        migrate(settings.database_url)
    elif args.command == "seed":
        with_users = settings.environment != "production"
        borrowers, users = seed(
            settings.database_url, settings.id_hash_salt.get_secret_value(), demo_users=with_users
        )
        print(f"demo data loaded; {borrowers} demo borrower(s) added, {users} demo user(s) added")
    elif args.command == "reconcile":
        report = reconcile(settings.database_url, today=args.today)
        print(
            f"reconciled: {report.items_missed} schedule item(s) missed, "
            f"{report.agreements_kept} agreement(s) kept, "
            f"{report.agreements_broken} agreement(s) broken"
        )
    else:
        # Demo users have published passwords: never create them in production.
        with_users = settings.environment != "production"
        borrowers, users = init_db(
            settings.database_url,
            settings.id_hash_salt.get_secret_value(),
            demo_users=with_users,
        )
        message = f"database ready; {borrowers} demo borrower(s) added"
        if with_users:
            message += f", {users} demo user(s) added (passwords in api/seed.py)"
        print(message)


if __name__ == "__main__":
    main()
