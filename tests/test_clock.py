"""VirtualClock: concurrent waits overlap in simulated time, and time stands still while a held
thread is busy."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from wait_and_dispatch.support.clock import ManualClock, VirtualClock, hold

START = 1_767_225_600.0


def start_held(clock: VirtualClock, work: Callable[[], None]) -> threading.Thread:
    """Start `work` in a thread held on the clock from before it starts until it ends."""
    thread = threading.Thread(target=lambda: _run_then(work, release), daemon=True)
    release = clock.hold(thread)
    thread.start()
    return thread


def _run_then(work: Callable[[], None], release: Callable[[], None]) -> None:
    try:
        work()
    finally:
        release()


def join_all(*threads: threading.Thread) -> None:
    for thread in threads:
        thread.join(timeout=5)
        assert not thread.is_alive()


def test_concurrent_sleepers_overlap_instead_of_adding_up() -> None:
    clock = VirtualClock(START)
    woke: dict[str, float] = {}

    def sleeper(name: str, seconds: float) -> Callable[[], None]:
        def work() -> None:
            clock.sleep(seconds)
            woke[name] = clock.now() - START

        return work

    with_main_held = clock.hold()  # both start before either may let time move
    threads = [start_held(clock, sleeper("short", 10)), start_held(clock, sleeper("long", 30))]
    with_main_held()
    join_all(*threads)

    assert woke == {"short": 10, "long": 30}
    assert clock.now() - START == 30


def test_an_unheld_sleeper_moves_time_at_once_like_a_manual_clock() -> None:
    clock = VirtualClock(START)

    clock.sleep(90)

    assert clock.now() == START + 90
    assert clock.slept == [90]


def test_time_stands_still_while_a_held_thread_is_busy() -> None:
    clock = VirtualClock(START)
    seen_while_busy: list[float] = []
    sleeper_woke: list[float] = []

    def busy() -> None:
        time.sleep(0.1)  # real work, such as an HTTP request
        seen_while_busy.append(clock.now())

    def sleeper() -> None:
        clock.sleep(10)
        sleeper_woke.append(clock.now())

    main = clock.hold()
    threads = [start_held(clock, busy), start_held(clock, sleeper)]
    main()
    join_all(*threads)

    assert seen_while_busy == [START]
    assert sleeper_woke == [START + 10]


def test_handing_over_a_hold_keeps_time_still_between_one_thread_and_the_next() -> None:
    clock = VirtualClock(START)
    second_started_at: list[float] = []
    threads: list[threading.Thread] = []

    def second() -> None:
        time.sleep(0.05)  # it takes a moment to get going; time must not jump meanwhile
        second_started_at.append(clock.now())

    def first() -> None:
        clock.sleep(10)
        threads.append(start_held(clock, second))  # held before it starts, then we end

    def bystander() -> None:
        clock.sleep(20)  # would be woken (time jumping to +20) if the hand-over left a gap

    main = clock.hold()
    threads.extend([start_held(clock, first), start_held(clock, bystander)])
    main()
    join_all(*threads)
    join_all(*threads)  # again: `first` added `second` to the list

    assert second_started_at == [START + 10]
    assert clock.now() == START + 20


def test_a_one_hour_wait_of_several_threads_takes_milliseconds() -> None:
    clock = VirtualClock(START)

    def poll_for_an_hour() -> None:
        while clock.now() < START + 3600:
            clock.sleep(5)

    real_start = time.monotonic()
    main = clock.hold()
    threads = [start_held(clock, poll_for_an_hour) for _ in range(3)]
    main()
    join_all(*threads)

    assert clock.now() == START + 3600
    assert time.monotonic() - real_start < 3
    assert clock.stalls == 0


def test_a_thread_that_ends_without_releasing_its_hold_does_not_stop_time() -> None:
    clock = VirtualClock(START, stall_after=0.05)
    forgotten = threading.Thread(target=lambda: None, daemon=True)
    clock.hold(forgotten)
    forgotten.start()
    forgotten.join()

    clock.sleep(30)

    assert clock.now() == START + 30
    assert clock.stalls == 0


def test_a_held_thread_blocked_on_a_sleepers_lock_is_a_stall_and_time_moves_on() -> None:
    clock = VirtualClock(START, stall_after=0.05)
    lock = threading.Lock()
    got_lock_at: list[float] = []

    def sleeps_holding_the_lock() -> None:
        with lock:
            clock.sleep(1)

    def waits_for_the_lock() -> None:
        time.sleep(0.02)  # let the other take the lock first
        with lock:
            got_lock_at.append(clock.now())

    main = clock.hold()
    threads = [start_held(clock, sleeps_holding_the_lock), start_held(clock, waits_for_the_lock)]
    main()
    join_all(*threads)

    assert got_lock_at == [START + 1]
    assert clock.stalls == 1


def test_advance_wakes_the_sleepers_it_passes() -> None:
    clock = VirtualClock(START)
    woke: list[float] = []

    def sleeper() -> None:
        clock.sleep(60)
        woke.append(clock.now())

    blocker = clock.hold()  # the test thread stays busy: only `advance` moves time
    thread = start_held(clock, sleeper)

    clock.advance(59)
    time.sleep(0.05)
    assert woke == []
    clock.advance(1)
    thread.join(timeout=5)
    blocker()

    assert woke == [START + 60]


def test_hold_on_another_clock_does_nothing() -> None:
    clock = ManualClock(START)

    release = hold(clock)
    clock.sleep(5)
    release()

    assert clock.now() == START + 5
