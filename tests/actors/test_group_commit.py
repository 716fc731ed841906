"""Group commit on a real PostgreSQL: shared transactions, and failures kept to their owner."""

from __future__ import annotations

import asyncio
import secrets

import psycopg
import pytest
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from keylight_actors.actors.group_commit import BatchedWrite, GroupCommit


@pytest.fixture
async def table(database_url):
    """A scratch table whose key is checked only at commit (DEFERRABLE INITIALLY DEFERRED)."""
    name = f"group_commit_probe_{secrets.token_hex(4)}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {name} (key text, txid bigint, "
                     f"UNIQUE (key) DEFERRABLE INITIALLY DEFERRED)")
    yield name
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"DROP TABLE {name}")


@pytest.fixture
async def pool(database_url):
    async with AsyncConnectionPool(database_url, min_size=1, max_size=4, open=False) as opened:
        yield opened


def committer(pool: AsyncConnectionPool, max_in_flight: int = 1) -> GroupCommit:
    async def source() -> AsyncConnectionPool:
        return pool

    return GroupCommit(source, max_group=64, max_in_flight=max_in_flight)


def insert(table: str, key: str, *, fail: bool = False):
    async def write(conn: AsyncConnection) -> None:
        await conn.execute(f"INSERT INTO {table} VALUES (%s, txid_current())", (key,))
        if fail:
            raise LookupError(f"{key} refused")

    return write


class BatchInserter:
    """Inserts every key of a batch in one statement; keys named ``refused-*`` are left out
    and answered as their own failure, and a batch holding ``poison`` fails as a whole."""

    def __init__(self, table: str) -> None:
        self.table = table
        self.batches: list[list[str]] = []

    async def run_batch(self, conn: AsyncConnection, keys: list[str]
                        ) -> list[BaseException | None]:
        self.batches.append(list(keys))
        if "poison" in keys and len(keys) > 1:
            raise psycopg.errors.DataError("a batch with poison in it")
        written = [key for key in keys if not key.startswith("refused")]
        await conn.execute(f"INSERT INTO {self.table} SELECT unnest(%s::text[]), txid_current()",
                           (written,))
        return [LookupError(key) if key.startswith("refused") else None for key in keys]

    def write(self, key: str) -> BatchedWrite:
        return BatchedWrite(self.run_batch, key)


async def commit_together(commits: GroupCommit, *writes: object) -> list[object]:
    """Writes submitted in one event-loop turn, so they form one group; answers what each
    caller heard (None or the exception)."""
    submitted = [commits.commit(write) for write in writes]  # type: ignore[arg-type]
    return await asyncio.gather(*submitted, return_exceptions=True)


def committed(database_url: str, table: str) -> dict[str, int]:
    with psycopg.connect(database_url) as conn:
        return dict(conn.execute(f"SELECT key, txid FROM {table}").fetchall())


async def test_a_lone_write_commits_in_its_own_transaction(pool, table, database_url):
    commits = committer(pool)
    await commits.commit(insert(table, "a"))
    assert list(committed(database_url, table)) == ["a"]


async def test_writes_ready_together_share_one_transaction_and_are_all_durable(
    pool, table, database_url
):
    commits = committer(pool)
    await asyncio.gather(*(commits.commit(insert(table, f"k{n}")) for n in range(20)))
    rows = committed(database_url, table)
    assert sorted(rows) == sorted(f"k{n}" for n in range(20))
    assert len(set(rows.values())) == 1
    assert commits.mean_group == 20


async def test_a_failing_write_is_refused_alone_and_the_rest_of_its_group_commits(
    pool, table, database_url
):
    commits = committer(pool)
    answers = await commit_together(
        commits,
        insert(table, "kept-1"),
        insert(table, "refused", fail=True),
        insert(table, "kept-2"))
    assert answers[0] is None and answers[2] is None
    assert isinstance(answers[1], LookupError)
    assert sorted(committed(database_url, table)) == ["kept-1", "kept-2"]
    assert commits.split_groups == 1


async def test_when_the_commit_itself_fails_every_writer_of_the_group_hears_it(
    pool, table, database_url
):
    commits = committer(pool)
    answers = await commit_together(
        commits,
        insert(table, "same"),
        insert(table, "same"),
        insert(table, "other"))
    assert all(isinstance(answer, psycopg.errors.UniqueViolation) for answer in answers)
    assert committed(database_url, table) == {}


async def test_writes_that_arrive_during_a_commit_form_the_next_group(pool, table, database_url):
    commits = committer(pool, max_in_flight=1)
    first = asyncio.create_task(commits.commit(insert(table, "first")))
    await asyncio.sleep(0)
    later = [asyncio.create_task(commits.commit(insert(table, f"later-{n}"))) for n in range(5)]
    await asyncio.gather(first, *later)
    rows = committed(database_url, table)
    assert len(rows) == 6
    assert len({rows[f"later-{n}"] for n in range(5)}) == 1
    assert rows["first"] != rows["later-0"]


async def test_batched_writes_of_a_group_run_as_one_statement_in_its_transaction(
    pool, table, database_url
):
    commits, inserter = committer(pool), BatchInserter(table)
    await asyncio.gather(commits.commit(insert(table, "plain")),
                         *(commits.commit(inserter.write(f"b{n}")) for n in range(10)))
    assert inserter.batches == [[f"b{n}" for n in range(10)]]
    rows = committed(database_url, table)
    assert sorted(rows) == sorted(["plain", *(f"b{n}" for n in range(10))])
    assert len(set(rows.values())) == 1


async def test_a_batched_items_own_failure_reaches_only_its_caller_and_the_rest_commit(
    pool, table, database_url
):
    commits, inserter = committer(pool), BatchInserter(table)
    answers = await commit_together(
        commits,
        inserter.write("kept-1"),
        inserter.write("refused-1"),
        inserter.write("kept-2"))
    assert answers[0] is None and answers[2] is None
    assert isinstance(answers[1], LookupError)
    assert sorted(committed(database_url, table)) == ["kept-1", "kept-2"]
    assert commits.split_groups == 0


async def test_a_batch_that_fails_as_a_whole_is_committed_apart(pool, table, database_url):
    commits, inserter = committer(pool), BatchInserter(table)
    answers = await commit_together(
        commits,
        inserter.write("kept-1"),
        inserter.write("poison"),
        inserter.write("kept-2"))
    assert answers == [None, None, None]  # poison alone is harmless
    assert inserter.batches == [["kept-1", "poison", "kept-2"],
                                ["kept-1"], ["poison"], ["kept-2"]]
    rows = committed(database_url, table)
    assert sorted(rows) == ["kept-1", "kept-2", "poison"]
    assert len(set(rows.values())) == 3
    assert commits.split_groups == 1


async def test_a_connection_lost_with_a_one_statement_group_fails_every_caller_unretried(
    pool, table, database_url
):
    """The statement was also the commit: whether it happened is unknown, so nobody may
    write it again."""
    attempts: list[list[str]] = []

    async def dies_with_its_connection(conn: AsyncConnection, keys: list[str]
                                       ) -> list[BaseException | None]:
        attempts.append(keys)
        await conn.execute("SELECT pg_terminate_backend(pg_backend_pid())")
        return [None] * len(keys)

    commits = committer(pool)
    answers = await commit_together(
        commits, *(BatchedWrite(dies_with_its_connection, f"k{n}") for n in range(3)))
    assert all(isinstance(answer, psycopg.OperationalError) for answer in answers)
    assert attempts == [["k0", "k1", "k2"]]
    assert commits.split_groups == 0
