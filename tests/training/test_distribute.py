"""The mirrored path on two logical CPU devices: TF must be configured before it starts, so in a subprocess."""
import json
import subprocess
import sys
import textwrap

from tests.conftest import ROOT

SCRIPT = textwrap.dedent("""
    import json, sys
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from training.config import TrainConfig
    from training.cli import run
    final = run(TrainConfig(models=("simplified",), epochs={"simplified": 1}, batch_size=64, data=sys.argv[1], out=sys.argv[2],
                            strategy="mirrored", quick=True))
    print("RESULT", json.dumps(json.load(open(final / "results.json"))))
""")


def test_mirrored_on_two_logical_cpus(tmp_path, mnist_dir):
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(mnist_dir), str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(proc.stdout.split("RESULT ", 1)[1])
    assert results["strategy"] == "MirroredStrategy x2"
    assert results["models"]["simplified"]["val_accuracy"] > 0.5


def test_is_chief(monkeypatch):
    from training.distribute import is_chief
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert is_chief()
    cluster = {"worker": ["a:1", "b:2"]}
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": {"type": "worker", "index": 1}}))
    assert not is_chief()
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": {"type": "worker", "index": 0}}))
    assert is_chief()
