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


def free_ports(n):
    import socket
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_two_workers_on_localhost_train_in_step_and_only_the_chief_writes_the_run(tmp_path, mnist_dir):
    """A real MultiWorkerMirroredStrategy: two processes on loopback, configured by TF_CONFIG, each given
    its own --out; they train together (training.loop, since Keras 3's fit() cannot), end with the same
    weights, and only worker 0 (the chief) writes a run."""
    import os
    import re

    import keras

    from training.loop import weights_digest

    workers = [f"127.0.0.1:{port}" for port in free_ports(2)]
    command = [sys.executable, "-m", "training", "--quick", "--no-pen", "--models", "simplified",
               "--batch-size", "64", "--data", str(mnist_dir)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}
    procs = []
    for index in range(2):
        tf_config = json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}})
        procs.append(subprocess.Popen(command + ["--strategy", "multiworker", "--out", str(tmp_path / f"worker{index}")],
                                      cwd=ROOT, env={**env, "TF_CONFIG": tf_config},
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    # The same run on one machine: with the same global batch, two workers must train exactly like it.
    procs.append(subprocess.Popen(command + ["--out", str(tmp_path / "single")], cwd=ROOT, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    try:
        outputs = [p.communicate(timeout=400) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for p, (out, err) in zip(procs, outputs):
        assert p.returncode == 0, (out + err)[-3000:]
    for out, _ in outputs[:2]:
        assert "CollectiveAllReduceStrategy with 2 replica(s)" in out  # MultiWorkerMirroredStrategy's class
    chief_run = tmp_path / "worker0" / "latest"
    results = json.loads((chief_run / "results.json").read_text())
    assert results["strategy"] == "CollectiveAllReduceStrategy x2"
    assert results["models"]["simplified"]["epochs_run"] == 1
    assert results["models"]["simplified"]["val_accuracy"] > 0.5
    assert (chief_run / "learning_curves.png").is_file()  # drawn from the history's four keys
    assert not (tmp_path / "worker1").exists()
    assert "writing" in outputs[0][0] and "writing" not in outputs[1][0]
    # Synchronous training: both workers end with the weights the chief saved.
    digests = [re.findall(r"final weights sha256 ([0-9a-f]{64})", out) for out, _ in outputs[:2]]
    assert digests[0] == digests[1] and len(digests[0]) == 1, digests
    saved = keras.models.load_model(chief_run / "simplified.keras")
    assert weights_digest(saved) == digests[0][0]
    single = json.loads((tmp_path / "single" / "latest" / "results.json").read_text())["models"]["simplified"]
    together = results["models"]["simplified"]
    # Measured: equal to 1e-7. Workers applying only their own gradients: val_loss off by 0.09; each worker
    # reading all the data instead of its shard: off by 0.14, with equal weights on both.
    for key in ("val_loss", "test_loss", "test_accuracy"):
        assert abs(together[key] - single[key]) < 1e-3, (key, together[key], single[key])
