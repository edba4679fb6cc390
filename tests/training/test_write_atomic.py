"""write_atomic: a reader sees the old file or the new one, never a half-written one."""
import os

from training import runs
from training.runs import write_atomic


def test_the_old_file_stays_whole_until_the_new_one_is_complete(tmp_path, monkeypatch):
    target = tmp_path / "results.json"
    target.write_text("old")
    seen = []
    real_replace = os.replace

    def replace(src, dst):
        # At the moment of the swap the target still holds the old bytes and the new ones are complete.
        seen.append((open(dst).read(), open(src).read(), os.path.dirname(src) == os.path.dirname(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(runs.os, "replace", replace)
    write_atomic(target, "new and longer")
    assert seen == [("old", "new and longer", True)]  # renamed within one directory: atomic
    assert target.read_text() == "new and longer"
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]
