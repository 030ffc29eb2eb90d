"""The unpack pool's order: of the wheels waiting, the largest is unpacked first."""

from __future__ import annotations

import threading
from concurrent.futures import CancelledError

import pytest

from pypm.install.largest_first import LargestFirstPool


def _blocked_pool(threads: int) -> tuple[LargestFirstPool, threading.Event, list[threading.Event]]:
    """A pool whose every thread is held by a job until the returned event is set."""
    pool = LargestFirstPool(threads)
    release = threading.Event()
    started = [threading.Event() for _ in range(threads)]
    for event in started:
        pool.submit(10**9, lambda e=event: (e.set(), release.wait(10)))
    for event in started:
        assert event.wait(10)
    return pool, release, started


def test_the_heaviest_waiting_job_runs_first_and_ties_keep_their_order() -> None:
    pool, release, _ = _blocked_pool(1)
    ran: list[str] = []
    futures = [pool.submit(weight, ran.append, name)
               for name, weight in [("small", 1), ("big", 5), ("middle", 3), ("big-too", 5), ("tiny", 0), ("two", 2)]]
    release.set()
    for future in futures:
        future.result(10)
    pool.shutdown()
    # in the order they were submitted (first come, first served) this would be the list above
    assert ran == ["big", "big-too", "middle", "two", "small", "tiny"]


def test_a_job_submitted_later_overtakes_lighter_ones_still_waiting() -> None:
    pool, release, _ = _blocked_pool(1)
    ran: list[str] = []
    guard = threading.Lock()

    def record(name: str) -> None:
        with guard:
            ran.append(name)

    futures = [pool.submit(1, record, f"small-{index}") for index in range(6)]
    futures.append(pool.submit(100, record, "mypy"))
    release.set()
    for future in futures:
        future.result(10)
    pool.shutdown()
    assert ran[0] == "mypy"
    assert sorted(ran[1:]) == [f"small-{index}" for index in range(6)]


def test_results_and_failures_reach_the_futures() -> None:
    pool = LargestFirstPool(2)
    good = pool.submit(1, lambda a, b: a + b, 2, 3)
    bad = pool.submit(2, lambda: 1 / 0)
    assert good.result(10) == 5
    with pytest.raises(ZeroDivisionError):
        bad.result(10)
    pool.shutdown()


def test_shutdown_lets_running_jobs_finish_and_cancels_the_waiting_ones() -> None:
    pool, release, _ = _blocked_pool(1)
    waiting = [pool.submit(weight, lambda: "ran") for weight in (3, 1, 2)]
    stopper = threading.Thread(target=pool.shutdown)
    stopper.start()
    # the executor cancels what is queued as it marks itself shut down (under this lock);
    # only then does the running job end
    executor = pool._executor  # noqa: SLF001 - no public sign of that moment
    while not executor._shutdown:  # noqa: SLF001
        stopper.join(0.01)
    with executor._shutdown_lock:  # noqa: SLF001
        pass
    release.set()
    stopper.join(10)
    assert not stopper.is_alive()
    for future in waiting:
        assert future.cancelled()
        with pytest.raises(CancelledError):
            future.result(0)


def test_a_sync_unpacks_the_largest_waiting_wheel_first(tmp_path, monkeypatch) -> None:
    """Real wheels through sync's early unpacking, its one thread held until all three wait:
    they are unpacked largest first (size from the lock, else from the file), not in the
    order they arrived."""
    from pypm.fsutil import file_sha256
    from pypm.install.download import FileToFetch
    from pypm.operations import sync as sync_module
    from pypm.testing.builders import DistSpec, build_wheel

    monkeypatch.setattr(sync_module, "UNPACK_THREADS", 1)
    early = sync_module._EarlyUnpack(tmp_path / "cache")
    release, started = threading.Event(), threading.Event()
    early.pool.submit(10**9, lambda: (started.set(), release.wait(10)))
    assert started.wait(10)
    finished: list[str] = []
    try:
        for name, pad, size_known in [("small", 100, True), ("big", 300_000, False), ("middle", 30_000, True)]:
            wheel = build_wheel(DistSpec(name, "1.0", pad_bytes=pad), tmp_path / "wheels")
            size = wheel.stat().st_size if size_known else None
            item = FileToFetch(wheel.name, wheel.as_uri(), file_sha256(wheel), size)
            early.ready(item, wheel, False)
            early.entries[item.sha256].add_done_callback(lambda _, name=name: finished.append(name))
        release.set()
        entries = [future.result(30) for future in early.entries.values()]
    finally:
        release.set()
        early.close()
    assert finished == ["big", "middle", "small"]
    assert sorted(entry.dist_info for entry in entries) == ["big-1.0.dist-info", "middle-1.0.dist-info",
                                                            "small-1.0.dist-info"]


def test_a_job_submitted_after_shutdown_is_refused_and_not_kept() -> None:
    pool = LargestFirstPool(1)
    pool.shutdown()
    with pytest.raises(RuntimeError):
        pool.submit(1, lambda: "never")
    assert pool._waiting == []  # noqa: SLF001 - nothing left for a turn that will not come
