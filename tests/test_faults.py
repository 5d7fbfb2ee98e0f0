"""Fault injection: nothing the package wrote before is lost when work fails.

Each test injects one fault and checks what is left: a save that fails
midway, a process killed while saving, an interrupted ``fit`` or
``predict``, a CLI run interrupted while writing its output, a benchmark
record interrupted while being written.
"""

import copy
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import torch
from sklearn.datasets import make_blobs

import sklearn_tcm
from sklearn_tcm import DECClustering, DSCLClustering, LearnedMetricClustering
from sklearn_tcm._persistence import atomic_write

X, Y = make_blobs(n_samples=80, centers=3, n_features=4, random_state=0)


def _dec(seed=0):
    return DECClustering(3, hidden_dims=(8,), n_components=2, pretrain_epochs=2, max_iter=5,
                         n_init=2, random_state=seed).fit(X)


def _lmc():
    return LearnedMetricClustering(n_tasks=4, synthetic_tasks=2, size_range=(8, 12),
                                   gae_epochs=1, critic_epochs=2, adversarial_rounds=0,
                                   random_state=0).fit(X, Y)


def _dscl():
    return DSCLClustering(3, hidden_layer_sizes=(8,), n_components=3, max_iter=5,
                          random_state=0).fit(X, Y)


def _temporaries(directory):
    return [name for name in os.listdir(directory) if name.endswith(".tmp")]


def _snapshot(model):
    """A deep copy of the fitted state, modules as state dicts."""
    state = {}
    for key, value in vars(model).items():
        if isinstance(value, torch.nn.Module):
            state[key] = {k: v.clone() for k, v in value.state_dict().items()}
        else:
            state[key] = copy.deepcopy(value)
    return state


def _assert_same_state(before, model):
    after = _snapshot(model)
    assert before.keys() == after.keys()
    for key, value in before.items():
        if isinstance(value, dict) and value and all(
                isinstance(v, torch.Tensor) for v in value.values()):
            assert all(torch.equal(value[k], after[key][k]) for k in value), key
        elif isinstance(value, np.ndarray):
            np.testing.assert_array_equal(value, after[key])
        else:
            assert repr(value) == repr(after[key]), key


# ------------------------------------------------------------------ saving
def test_save_failing_midway_leaves_the_previous_file(tmp_path, monkeypatch):
    """Fault: save fails with a full disk after writing part of the file. Checked: the earlier
    model file is byte-identical, no temporary file is left, and it loads."""
    path = tmp_path / "model.tcm"
    _dec(seed=0).save(path)
    original = path.read_bytes()
    real_save = torch.save

    def save_then_fail(obj, file, *args, **kwargs):
        real_save(obj, file, *args, **kwargs)  # some bytes reach the file
        file.write(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", save_then_fail)
    with pytest.raises(OSError, match="No space left"):
        _dec(seed=1).save(path)
    assert path.read_bytes() == original
    assert _temporaries(tmp_path) == []
    sklearn_tcm.load(path)


def test_interrupted_save_leaves_no_file_where_there_was_none(tmp_path, monkeypatch):
    """Fault: KeyboardInterrupt during a first save. Checked: no file (partial or temporary) is
    left."""
    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", interrupt)
    with pytest.raises(KeyboardInterrupt):
        _dec().save(tmp_path / "model.tcm")
    assert os.listdir(tmp_path) == []


def test_save_unencodable_state_leaves_the_previous_file(tmp_path):
    """Fault: the fitted state cannot be encoded (TypeError while saving). Checked: the earlier
    model file is byte-identical."""
    path = tmp_path / "model.tcm"
    model = _dec()
    model.save(path)
    original = path.read_bytes()
    model.extra_state_ = object()  # nothing the safe format can store
    with pytest.raises(TypeError):
        model.save(path)
    assert path.read_bytes() == original


def test_atomic_write_keeps_permissions_and_replaces_on_success(tmp_path):
    """Fault: none (control). Checked: a successful write replaces the file and keeps its
    permission bits."""
    path = tmp_path / "labels.csv"
    path.write_text("old\n")
    os.chmod(path, 0o640)
    with atomic_write(path, "w") as file:
        file.write("new\n")
    assert path.read_text() == "new\n"
    assert path.stat().st_mode & 0o777 == 0o640
    with pytest.raises(ValueError):
        atomic_write(path, "a").__enter__()


_SAVE_LOOP = textwrap.dedent("""
    import sys
    import numpy as np
    from sklearn_tcm import DECClustering
    X = np.random.default_rng(0).normal(size=(40, 200))
    # ~10 MB of weights, so that a save takes long enough to be cut by a kill
    model = DECClustering(2, hidden_dims=(1500, 1500), n_components=4, pretrain_epochs=1,
                          max_iter=1, n_init=1, random_state=0).fit(X)
    path = sys.argv[1]
    model.save(path)
    print("saved", flush=True)
    while True:
        model.save(path)
""")


@pytest.mark.integration  # a subprocess: second tier
def test_process_killed_while_saving_leaves_a_complete_file(tmp_path):
    """Fault: SIGKILL of a process saving a ~10 MB model in a loop, readers loading meanwhile.
    Checked: every read and the file left load as a working model."""
    path = tmp_path / "large.tcm"
    process = subprocess.Popen([sys.executable, "-c", _SAVE_LOOP, str(path)],
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "saved"
        rng = np.random.default_rng(0)
        for _ in range(5):  # kill at several points of the save loop
            time.sleep(float(rng.uniform(0.05, 0.3)))
            model = sklearn_tcm.load(path)  # a reader sees a complete file meanwhile
            assert isinstance(model, DECClustering)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
        process.stdout.close()
    assert process.returncode == -signal.SIGKILL
    model = sklearn_tcm.load(path)
    assert model.predict(np.zeros((2, 200))).shape == (2,)


# ------------------------------------------------------- fit and predict
@pytest.mark.parametrize("factory, target", [
    (_dec, "sklearn_tcm.dec.predict_batches"),
    (_dscl, "sklearn_tcm.dscl.predict_batches"),
    (_lmc, "sklearn_tcm.learned_metric.critic_clustering.score_candidates"),
])
def test_interrupted_predict_leaves_the_estimator_as_it_was(factory, target, monkeypatch):
    """Fault: KeyboardInterrupt inside predict (DEC, DSCL, learned metric). Checked: every
    fitted attribute and weight is unchanged, and predict works afterwards."""
    model = factory()
    before = _snapshot(model)

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(target, interrupt)
    with pytest.raises(KeyboardInterrupt):
        model.predict(X)
    monkeypatch.undo()
    _assert_same_state(before, model)
    model.predict(X)  # and it still works


def test_interrupted_refit_leaves_the_earlier_fit(monkeypatch):
    """Fault: KeyboardInterrupt in an optimiser step during a refit. Checked: every fitted
    attribute and weight of the earlier fit is unchanged."""
    model = _dec()
    before = _snapshot(model)

    def interrupt(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(torch.optim.Adam, "step", interrupt)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X[::-1])
    _assert_same_state(before, model)


# --------------------------------------------------------------------- CLI
def test_cli_interrupted_while_writing_labels_leaves_no_partial_file(tmp_path, monkeypatch):
    """Fault: KeyboardInterrupt while `sklearn-tcm cluster` writes its labels. Checked: exit
    status 130, no partial output file, an earlier output file untouched."""
    from sklearn_tcm import cli

    model_path, data_path = tmp_path / "dec.tcm", tmp_path / "X.npy"
    _dec().save(model_path)
    np.save(data_path, X)
    output = tmp_path / "labels.csv"

    def write_some_then_interrupt(file, labels, **kwargs):
        file.write("0\n1\n")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savetxt", write_some_then_interrupt)
    assert cli.main(["cluster", str(model_path), str(data_path), "-o", str(output)]) == 130
    assert not output.exists()
    output.write_text("earlier labels\n")
    assert cli.main(["cluster", str(model_path), str(data_path), "-o", str(output)]) == 130
    assert output.read_text() == "earlier labels\n"
    assert _temporaries(tmp_path) == []


def test_cli_fit_failing_while_saving_leaves_the_earlier_model(tmp_path, monkeypatch):
    """Fault: full disk while `sklearn-tcm fit` saves. Checked: exit status 1 with one error
    line, the earlier model file byte-identical."""
    from sklearn_tcm import cli

    data_path, model_path = tmp_path / "X.npy", tmp_path / "dec.tcm"
    np.save(data_path, X)
    _dec().save(model_path)
    original = model_path.read_bytes()

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", fail)
    code = cli.main(["fit", "--method", "dec", str(data_path), "--quiet", "--n-clusters", "3",
                     "--set", "hidden_dims=[8]", "--set", "pretrain_epochs=1",
                     "--set", "max_iter=2", "-o", str(model_path)])
    assert code == 1
    assert model_path.read_bytes() == original


def test_benchmark_record_interrupted_keeps_the_old_record(tmp_path, monkeypatch):
    """Fault: KeyboardInterrupt while a benchmark writes RESULTS.md. Checked: the earlier
    RESULTS.md is unchanged, no temporary file is left."""
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "benchmarks"))
    try:
        import _harness
    finally:
        sys.path.pop(0)
    path = tmp_path / "RESULTS.md"
    _harness._replace_section(path, "demo", "first")
    original = path.read_text()

    real_write = atomic_write

    def interrupt_inside(path, *args, **kwargs):
        manager = real_write(path, *args, **kwargs)

        class Interrupting:
            def __enter__(self):
                file = manager.__enter__()
                file.write("half")
                return self

            def write(self, text):
                raise KeyboardInterrupt

            def __exit__(self, *exc):
                return manager.__exit__(*exc)

        return Interrupting()

    monkeypatch.setattr(_harness, "atomic_write", interrupt_inside)
    with pytest.raises(KeyboardInterrupt):
        _harness._replace_section(path, "demo", "second")
    assert path.read_text() == original
    assert _temporaries(tmp_path) == []


# --------------------------------------------------------- resource limits
def test_quadratic_memory_request_is_refused_before_allocating():
    """Fault: a graph of 300 000 points (2.6 TiB of distances) is requested. Checked:
    MemoryError naming max_points, raised before allocating."""
    from sklearn_tcm.learned_metric.graph import to_networkx

    X_huge = np.zeros((300_000, 2))  # its n x n distances: 2.6 TiB
    with pytest.raises(MemoryError, match="max_points"):
        to_networkx(X_huge, np.zeros(300_000, dtype=int))


def test_max_points_beyond_memory_is_refused_with_a_clear_error(monkeypatch):
    """Fault: max_points larger than the memory available allows. Checked: MemoryError with the
    size needed; the default max_points works on the same data."""
    import sklearn_tcm._torch as helpers

    lmc = _lmc()
    X_large, y_large = make_blobs(n_samples=1500, centers=3, random_state=0)
    lmc.set_params(max_points=1500)
    monkeypatch.setattr(helpers, "available_memory", lambda: 50 * 2**20)  # 50 MiB free
    with pytest.raises(MemoryError, match=r"GiB of memory.*max_points"):
        lmc.score_clustering(X_large, y_large)
    monkeypatch.undo()
    lmc.set_params(max_points=300)  # subsampled: within the limit
    assert np.isfinite(lmc.score_clustering(X_large, y_large))
