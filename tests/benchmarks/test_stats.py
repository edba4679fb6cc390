"""The timing helpers: figures compared in a ratio are timed in turns, never one after the other."""
import numpy as np

from benchmarks.stats import in_turns_ms, timed


def test_in_turns_times_each_callable_in_turns_of_calls():
    calls = []

    def one(tag, ms):
        def fn():
            calls.append(tag)
            return ms
        return fn

    a, b = in_turns_ms([one("a", 1.0), one("b", 2.0)], repeats=5, turn=2, warmup=1)
    assert calls == ["a", "b"] + ["a", "a", "b", "b", "a", "a", "b", "b", "a", "b"]  # warm-up, then turns
    assert np.array_equal(a, np.full(5, 1.0)) and np.array_equal(b, np.full(5, 2.0))


def test_timed_returns_the_calls_own_milliseconds():
    import time

    ms = timed(lambda: time.sleep(0.01))()
    assert 9.0 <= ms < 1000.0
