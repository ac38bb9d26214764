"""How fast is `imagine-bot report` over a big usage log? Seeds N rows, times every grouping.

    python bench/report.py [--rows 1000000] [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test]

Without --database-url it uses a SQLite file in a temporary directory; with a PostgreSQL URL it works
in a schema of its own, created here and dropped at the end, so nothing else in the database is touched.
The schema is built by the real migrations, so the indexes measured are the ones that ship.
`--drop-index NAME` removes an index after migrating, to measure what it buys; `--explain` prints the
query plans.
"""

from __future__ import annotations

import argparse
import functools
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a plain script from anywhere

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url

from bot.images.pricing import PriceTable
from bot.store.database import create_database_engine, migrate
from bot.store.tables import Generation
from bot.store.usage import Grouping, Report, UsageReader

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
DAYS = 90
CHUNK = 50_000
REPEATS = 3  # the median of three: a 1M-row grouping takes seconds on a busy machine
MODELS = [  # (model, sizes, qualities, weight)
    ("gpt-image-2", ["1024x1024", "1536x1024", "1024x1536", "2048x1152"], ["low", "medium", "high"], 6),
    ("gpt-image-1-mini", ["1024x1024", "1536x1024", "1024x1536"], ["low", "medium"], 3),
    ("dall-e-3", ["1024x1024", "1792x1024", "1024x1792"], ["standard", "hd"], 1),
]
STATUSES = (["succeeded"] * 88) + (["failed"] * 6) + (["rejected"] * 5) + ["queued"]
KINDS = (["command"] * 70) + (["mention"] * 15) + (["regenerate"] * 8) + (["edit"] * 5) + (["shortcut"] * 2)
PROMPT = "a badger wearing a tuxedo, watercolour, soft morning light, wide shot"
PRICES = PriceTable()


def fake_rows(count: int, seed: int = 1) -> Iterator[dict[str, Any]]:
    """Rows shaped like a real log: a few heavy users and busy channels, one big team, mostly successes."""
    rng = random.Random(seed)
    users = [f"U{n:08d}" for n in range(200)]
    user_weights = [1 / (rank + 1) for rank in range(len(users))]  # Zipf-like: some people use it a lot
    channels = [f"C{n:08d}" for n in range(50)]
    channel_weights = [1 / (rank + 1) ** 0.7 for rank in range(len(channels))]
    model_weights = [weight for *_, weight in MODELS]
    prices = {  # estimated once per shape: the estimate is not what is measured here
        (model, size, quality, n): PRICES.estimate(model, size, quality, n, prompt=PROMPT)
        for model, sizes, qualities, _ in MODELS
        for size in sizes
        for quality in qualities
        for n in (1, 2, 4)
    }
    span = DAYS * 86_400
    done = 0
    while done < count:
        # Each column drawn for a block of rows at once: drawing row by row cost more than inserting.
        k = min(CHUNK, count - done)
        done += k
        models = rng.choices(MODELS, model_weights, k=k)
        channel_ids = rng.choices(channels, channel_weights, k=k)
        user_ids = rng.choices(users, user_weights, k=k)
        statuses = rng.choices(STATUSES, k=k)
        kinds = rng.choices(KINDS, k=k)
        for i in range(k):
            model, sizes, qualities, _weight = models[i]
            size, quality = rng.choice(sizes), rng.choice(qualities)
            n = 1 if model == "dall-e-3" else rng.choice((1, 1, 1, 2, 4))
            status = statuses[i]
            created = NOW - timedelta(seconds=rng.randrange(span))
            price = prices[(model, size, quality, n)]
            yield {
                "kind": kinds[i],
                "team_id": "T00000001" if rng.random() < 0.9 else "T00000002",
                "channel_id": channel_ids[i],
                "user_id": user_ids[i],
                "prompt": PROMPT,
                "model": model,
                "deployment": model,
                "size": size,
                "quality": quality,
                "n": n,
                "raw": False,
                "status": status,
                "attempts": 1,
                "created_at": created,
                "not_before": created,
                "finished_at": created + timedelta(seconds=12) if status != "queued" else None,
                "response_url_uses": 2,
                "source_files": [],
                "message_state": "posted",
                "file_ids": [],
                "partial_file_ids": [],
                "prompt_storage": "kept",
                "estimated_cost_usd": price if status == "succeeded" else None,
            }


def chunks(rows: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def seed(engine: Engine, count: int) -> None:
    if engine.dialect.name == "postgresql":
        _seed_postgresql(engine, count)
    else:
        _seed_sqlite(engine, count)


def _seed_sqlite(engine: Engine, count: int) -> None:
    # Each value goes through its column's own bind processor (UTC datetimes, enums and JSON exactly as the
    # bot stores them), then plain executemany: SQLAlchemy's per-row statement work is left out. While
    # seeding, the connection keeps a page cache big enough for the nine indexes and skips fsync; both
    # are put back before anything is timed, so the queries run as the bot's connections would.
    names = list(next(fake_rows(1)))
    processors = [_memoised(Generation.__table__.c[name].type, engine.dialect) for name in names]
    statement = f"INSERT INTO generations ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
    with engine.connect() as connection:
        raw = connection.connection.driver_connection
        assert raw is not None
        raw.execute("PRAGMA cache_size = -500000")
        raw.execute("PRAGMA synchronous = OFF")
        for chunk in chunks(fake_rows(count), CHUNK):
            rows = [
                tuple(
                    value if process is None else process(value)
                    for process, value in zip(processors, row.values(), strict=True)
                )
                for row in chunk
            ]
            raw.executemany(statement, rows)
            raw.commit()
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        raw.execute("PRAGMA cache_size = -2000")  # SQLite's default
        raw.execute("PRAGMA synchronous = NORMAL")  # what bot.store.database sets


def _memoised(column_type: Any, dialect: Any) -> Callable[[Any], Any] | None:
    """The column's bind processor, remembering its answers for the few distinct values most columns take
    (all but the timestamps): the same stored values, a fraction of the calls."""
    process: Callable[[Any], Any] | None = column_type.bind_processor(dialect)
    if process is None or _python_type(column_type) is datetime:
        return process
    known: dict[Any, Any] = {}

    def remembered(value: Any) -> Any:
        key = repr(value)  # lists (the JSON columns) are not hashable; their repr is
        if key not in known:
            known[key] = process(value)
        return known[key]

    return remembered


def _python_type(column_type: Any) -> type | None:
    try:
        return column_type.python_type  # type: ignore[no-any-return]
    except NotImplementedError:  # some types have none
        return None


def _seed_postgresql(engine: Engine, count: int) -> None:
    # COPY is an order of magnitude faster than multi-row INSERTs at this size.
    columns = list(next(fake_rows(1)))
    with engine.connect() as connection:
        raw = connection.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cursor, cursor.copy(f"COPY generations ({', '.join(columns)}) FROM STDIN") as copy:
            for row in fake_rows(count):
                copy.write_row([_copy_value(row[c]) for c in columns])
        raw.commit()
        # What autovacuum does after a bulk load: statistics, and the visibility map index-only scans need.
        raw.autocommit = True
        raw.execute("VACUUM ANALYZE generations")
        raw.autocommit = False


def _copy_value(value: Any) -> Any:
    """COPY takes text: JSON columns as JSON text, everything else as psycopg adapts it."""
    return "[]" if value == [] else value


@contextmanager
def database(url: str | None) -> Iterator[str]:
    if url is None:
        with tempfile.TemporaryDirectory() as directory:
            yield f"sqlite:///{Path(directory) / 'bench.sqlite3'}"
        return
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield make_url(url).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def timed(call: Callable[[], object]) -> list[float]:
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return times


def usage_report(engine: Engine, *, since: datetime, until: datetime, by: Grouping, team_id: str | None) -> Report:
    """What `imagine-bot report` runs."""
    return UsageReader(engine).report(since=since, until=until, by=by, team_id=team_id)


def explain(engine: Engine, by: Grouping, since: datetime, team: str | None) -> None:
    """Print the plan of the query the report runs, captured from the engine, not re-typed."""
    statements: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    usage_report(engine, since=since, until=NOW, by=by, team_id=team)
    event.remove(engine, "before_cursor_execute", capture)
    statement, parameters = statements[-1]
    prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN (ANALYZE, BUFFERS) "
    with engine.connect() as connection:
        raw = connection.connection.driver_connection
        assert raw is not None
        cursor = raw.cursor()
        cursor.execute(prefix + statement, parameters)
        print(f"-- {by.value}{' team ' + team if team else ''}")
        for line in cursor.fetchall():
            print("   ", " ".join(str(part) for part in line))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database-url", help="a PostgreSQL URL; default a temporary SQLite file")
    parser.add_argument("--drop-index", action="append", default=[], metavar="NAME")
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args()

    with database(args.database_url) as url:
        migrate(url)
        engine = create_database_engine(url)
        with engine.begin() as connection:
            for name in args.drop_index:
                connection.execute(text(f'DROP INDEX "{name}"'))
        start = time.perf_counter()
        seed(engine, args.rows)
        seeded = time.perf_counter() - start
        since = NOW - timedelta(days=DAYS + 1)  # the whole log: the worst case
        cases: list[tuple[str, Grouping, datetime, str | None]] = [
            *((by.value, by, since, None) for by in Grouping),
            ("user, big team", Grouping.USER, since, "T00000001"),
            ("user, small team", Grouping.USER, since, "T00000002"),
            ("user, last 30 days", Grouping.USER, NOW - timedelta(days=30), None),
        ]
        if args.explain:
            for _label, by, start_at, team in cases:
                explain(engine, by, start_at, team)
        results = []
        for label, by, start_at, team in cases:
            # Once untimed: the figures for the table, and this case's pages in the cache.
            report = usage_report(engine, since=start_at, until=NOW, by=by, team_id=team)
            times = timed(functools.partial(usage_report, engine, since=start_at, until=NOW, by=by, team_id=team))
            results.append((label, report.totals.requests, len(report.rows), statistics.median(times), max(times)))
        engine.dispose()

    backend = make_url(url).get_backend_name()
    schema = "schema at head" + (f" without {', '.join(args.drop_index)}" if args.drop_index else "")
    print(f"\n{backend}, {schema}: {args.rows:,} rows seeded in {seeded:.1f} s; {REPEATS} runs per grouping\n")
    print(f"{'grouping':<20} {'in window':>10} {'groups':>7} {'median s':>9} {'max s':>7}")
    for label, requests, groups, median, worst in results:
        print(f"{label:<20} {requests:>10,} {groups:>7} {median:>9.3f} {worst:>7.3f}")


if __name__ == "__main__":
    main()
