import pytest

from training.runs import finish_run, new_run_dir, resolve_run, write_atomic


def test_partial_until_finished_then_latest_switches(tmp_path):
    first = new_run_dir(tmp_path)
    assert first.name.endswith(".partial") and not (tmp_path / "latest").exists()
    write_atomic(first / "results.json", "{}")
    done = finish_run(first)
    assert (tmp_path / "latest").resolve() == done and not first.exists()

    second = new_run_dir(tmp_path)
    assert second.name != first.name  # same second: still a new directory
    write_atomic(second / "results.json", "{}")
    # Until the second run finishes, latest still names the first, complete one.
    assert (tmp_path / "latest").resolve() == done
    assert resolve_run(tmp_path / "latest") == done
    second_done = finish_run(second)
    assert (tmp_path / "latest").resolve() == second_done
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("2")) == ["latest"]


def test_write_atomic_replaces_whole_file(tmp_path):
    target = tmp_path / "x.json"
    write_atomic(target, "old")
    write_atomic(target, b"new")
    assert target.read_text() == "new" and [p.name for p in tmp_path.iterdir()] == ["x.json"]


def test_resolve_run_rejects_incomplete(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a complete training run"):
        resolve_run(tmp_path)


def test_exit_status_maps_each_failure_to_its_code_and_one_line(capsys):
    from training.runs import exit_status

    def raising(e):
        def work():
            raise e
        return work

    assert exit_status(lambda: None, (ValueError,)) == 0
    assert exit_status(raising(ValueError("bad pen data")), (ValueError,)) == 2
    assert capsys.readouterr().err == "error: bad pen data\n"
    assert exit_status(raising(PermissionError(13, "Permission denied", "runs/x")), (ValueError,)) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "runs/x" in err and err.count("\n") == 1
    assert exit_status(raising(KeyboardInterrupt()), (ValueError,)) == 130
    assert capsys.readouterr().err == "interrupted: no run written\n"
