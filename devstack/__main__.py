"""`python -m devstack run` (make run), `python -m devstack run --scaled` (make
run-scaled) and `python -m devstack train` (make model)."""

import argparse
import signal
import sys
import time

from api.core.config import get_settings
from api.core.money import format_fen
from api.manage import init_db
from api.seed import DEMO_BORROWERS, DEMO_USERS
from devstack.config import StackConfig
from devstack.model import ensure_model
from devstack.scaled import BackingServiceError, database_name, prepare
from devstack.supervisor import Stack, StartupError, log_tail, service_specs


def _print_banner(config: StackConfig, stack: Stack) -> None:
    print()
    if config.scaled:
        _print_scaled_services(config, stack)
    else:
        print("Repayment assistant is running.")
        print(f"  Borrower web chat : {config.api_url}/chat")
        print(f"  Collector console : {config.api_url}/console")
        print(f"  Compliance        : {config.api_url}/compliance")
        print(f"  API docs          : {config.api_url}/docs")
        print(f"  Rasa              : {config.rasa_url}   Action server: {config.actions_url}")
        print(f"  Logs              : {config.log_dir}/{{api,actions,rasa}}.log")
    print()
    print("Demo borrowers (fictitious) — verify in the chat with: name, last 4 of ID, birth date")
    for demo in DEMO_BORROWERS:
        print(
            f"  {demo.full_name} {demo.id_number[-4:]} {demo.birth_date.isoformat()}"
            f"   owes {format_fen(demo.total_due_fen)}"
        )
    print()
    print("Demo staff (log in at /console or /compliance, at /docs → Authorize, or POST /api/v1/auth/token)")
    for user in DEMO_USERS:
        print(f"  {user.role:<11} {user.username} / {user.password}")
    print()
    print("Try: 你好 → 我欠多少钱 → 张伟 1234 1990-03-07.  Ctrl-C stops everything.")
    sys.stdout.flush()


def _print_scaled_services(config: StackConfig, stack: Stack) -> None:
    names = [svc.spec.name for svc in stack.running]
    print(f"Repayment assistant is running (scaled: {len(config.api_urls)} api processes, "
          f"{len(config.rasa_urls)} Rasa instances).")
    for n, url in enumerate(config.api_urls, start=1):
        print(f"  api-{n}             : {url}/chat  {url}/console  {url}/compliance  {url}/docs")
    print(f"  Rasa              : {', '.join(config.rasa_urls)} (round-robin, failover)")
    print(f"  Action server     : {config.actions_url}")
    print(f"  PostgreSQL        : api {database_name(config.database_url)!r}, Rasa tracker store "
          f"{config.rasa_tracker_database!r}")
    print(f"  Redis             : {config.redis_url} (live-update hints; Rasa lock store db "
          f"{config.rasa_lock_store_db})")
    print(f"  Outreach worker   : {'running' if 'outreach' in names else 'not started'}")
    print(f"  Logs              : {config.log_dir}/{{{','.join(names)}}}.log")


def _interrupt(signum, frame) -> None:
    """SIGTERM gets the same clean shutdown as Ctrl-C."""
    raise KeyboardInterrupt


def run(*, scaled: bool = False) -> int:
    config = StackConfig.from_env(scaled=scaled)
    model = ensure_model(config.models_dir, log_file=config.var_dir / "log" / "train.log")
    settings = get_settings()
    if scaled:
        try:
            prepare(config)  # PostgreSQL and Redis answer; both databases exist
        except BackingServiceError as exc:
            print(f"\nmake run-scaled failed: {exc}", file=sys.stderr)
            return 1
    init_db(config.database_url, settings.id_hash_salt.get_secret_value())
    signal.signal(signal.SIGTERM, _interrupt)
    stack = Stack(config, service_specs(config, model=model))
    try:
        what = (f"{len(config.api_urls)} api processes, action server, {len(config.rasa_urls)} Rasa instances"
                if scaled else "api, action server and Rasa")
        print(f">> starting {what} …", flush=True)
        started = time.monotonic()
        stack.start()
        print(f">> all services healthy in {time.monotonic() - started:.1f}s")
        _print_banner(config, stack)
        while True:
            dead = stack.check_alive()
            if dead is not None:
                print(
                    f"\n{dead.spec.name} stopped unexpectedly (exit code "
                    f"{dead.process.returncode}). Last lines of {dead.log_path}:\n"
                    f"{log_tail(dead.log_path)}",
                    file=sys.stderr,
                )
                return 1
            time.sleep(1)
    except StartupError as exc:
        print(f"\n{'make run-scaled' if scaled else 'make run'} failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\n>> stopping …")
        return 0
    finally:
        stack.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m devstack")
    parser.add_argument("command", choices=["run", "train"])
    parser.add_argument(
        "--scaled", action="store_true",
        help="run: the scaled topology (2 api processes, 2 Rasa instances, PostgreSQL, Redis)",
    )
    args = parser.parse_args()
    if args.command == "train":
        config = StackConfig.from_env()
        print(ensure_model(config.models_dir))
        sys.exit(0)
    sys.exit(run(scaled=args.scaled))


if __name__ == "__main__":
    main()
