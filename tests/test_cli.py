"""The sklearn-tcm command, run as users run it (subprocess)."""

import subprocess
import sys

import numpy as np
import pytest
from sklearn.datasets import make_blobs

# second tier: CI runs it after the fast tests (-m 'integration and not slow')
pytestmark = pytest.mark.integration

TINY_LMC = ["--set", "n_tasks=4",
            "--set", "synthetic_tasks=3", "--set", "size_range=[8,12]", "--set", "gae_epochs=1",
            "--set", "critic_epochs=2", "--set", "adversarial_rounds=0"]
TINY_DEC = ["--n-clusters", "3", "--set", "hidden_dims=[8]", "--set", "n_components=2",
            "--set", "pretrain_epochs=2", "--set", "max_iter=5", "--set", "n_init=2"]


def run(*args):
    result = subprocess.run([sys.executable, "-m", "sklearn_tcm", *map(str, args)],
                            capture_output=True, text=True, timeout=300)
    return result.returncode, result.stdout, result.stderr


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli")
    X, y = make_blobs(n_samples=90, centers=3, n_features=4, random_state=0)
    np.savez(path / "data.npz", X=X, y=y)
    np.save(path / "X.npy", X)
    np.savetxt(path / "X.csv", X, delimiter=",", header="a,b,c,d", comments="")
    np.savetxt(path / "y.csv", y, fmt="%d")
    np.save(path / "wrong.npy", X[:, 0])
    np.save(path / "short.npy", y[:10])
    return path


@pytest.fixture(scope="module")
def models(files):
    code, out, err = run("fit", "--method", "lmc", files / "data.npz", "--quiet",
                         "-o", files / "lmc.tcm", *TINY_LMC)
    assert code == 0, err
    code, out, err = run("fit", "--method", "dec", files / "X.csv", "--quiet",
                         "-o", files / "dec.tcm", *TINY_DEC)
    assert code == 0, err
    return files


def test_help():
    for command in ([], ["demo"], ["fit"], ["cluster"], ["score"]):
        code, out, _ = run(*command, "--help")
        assert code == 0 and "usage" in out


def test_fit_cluster_score_cycle(models):
    code, out, err = run("cluster", models / "lmc.tcm", models / "X.npy",
                         "-o", models / "labels.csv")
    assert code == 0, err
    labels = np.loadtxt(models / "labels.csv")
    assert labels.shape == (90,)
    code, out, err = run("score", models / "lmc.tcm", models / "X.npy", models / "y.csv",
                         "--quiet")
    assert code == 0, err
    assert np.isfinite(float(out))
    code, out, err = run("cluster", models / "dec.tcm", models / "data.npz",
                         "-o", models / "dec_labels.csv")
    assert code == 0 and "3 clusters" in out


@pytest.mark.parametrize("case", [
    ("cluster", "{d}/missing.tcm", "{d}/X.npy", "-o", "{d}/out.csv"),
    ("cluster", "{d}/lmc.tcm", "{d}/missing.npy", "-o", "{d}/out.csv"),
    ("cluster", "{d}/y.csv", "{d}/X.npy", "-o", "{d}/out.csv"),  # not a model file
    ("score", "{d}/dec.tcm", "{d}/X.npy", "{d}/y.csv"),  # a model of another kind
    ("score", "{d}/lmc.tcm", "{d}/X.npy", "{d}/short.npy"),  # wrong label shape
    ("fit", "--method", "dscl", "{d}/X.npy", "-o", "{d}/m.tcm"),  # labels missing
    ("fit", "--method", "dec", "{d}/wrong.npy", "-o", "{d}/m.tcm"),  # 1-D data
    ("fit", "--method", "dec", "{d}/X.npy", "--set", "nonsense=1", "-o", "{d}/m.tcm"),
    ("fit", "--method", "dec", "{d}/X.npy", "--set", "n_clusters=-2", "-o", "{d}/m.tcm"),
    ("cluster", "{d}/dec.tcm", "{d}/y.csv", "-o", "{d}/out.csv"),  # wrong n_features
])
def test_errors_are_one_line(models, case):
    code, out, err = run(*[part.format(d=models) for part in case])
    assert code != 0
    assert "Traceback" not in err
    assert err.strip().startswith("sklearn-tcm: error:")
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("name, content, expected", [
    ("empty.npy", b"", "is empty; expected a NumPy .npy array"),
    ("empty.csv", b"", "is empty; expected rows of numbers"),
    ("header_only.csv", b"a,b,c\n", "has a header line but no data rows"),
    ("ragged.csv", b"1,2,3\n4,5\n", "row 2, column 3: missing value"),
    ("long_row.csv", b"1,2\n4,5,6\n", "row 2: 3 values, expected 2"),
    ("semicolons.csv", b"1;2;3\n4;5;6\n", "row 1: values separated by ';'"),
    ("word.csv", b"x,y\n1,2\n3,oops\n", "row 3, column 2: 'oops' is not a number"),
    ("nan.csv", b"1,2\n3,nan\n5,6\n", "sample 2: NaN or infinite value"),
])
@pytest.mark.parametrize("method", ["lmc", "dec"])
def test_bad_data_files_get_one_line_naming_file_and_row(tmp_path, name, content, expected,
                                                         method):
    path = tmp_path / name
    path.write_bytes(content)
    extra = ["--labels", str(tmp_path / "y.csv")] if method == "lmc" else ["--n-clusters", "2"]
    (tmp_path / "y.csv").write_text("0\n1\n0\n")
    code, out, err = run("fit", "--method", method, path, *extra, "-o", tmp_path / "m.tcm")
    assert code == 1
    assert "Traceback" not in err and "Warning" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and name in lines[0] and expected in lines[0], err
    assert not (tmp_path / "m.tcm").exists()


def test_nan_labels_are_refused_naming_the_file(tmp_path):
    np.save(tmp_path / "X.npy", np.random.default_rng(0).normal(size=(6, 2)))
    (tmp_path / "y.csv").write_text("0\n1\nnan\n0\n1\n0\n")
    code, _, err = run("fit", "--method", "lmc", tmp_path / "X.npy", "--labels",
                       tmp_path / "y.csv", "-o", tmp_path / "m.tcm")
    assert code == 1 and "y.csv" in err and "label 3: NaN" in err


def test_tables_as_pandas_writes_them(tmp_path):
    """pandas' integer column names, its row index, TSV and label files read as written."""
    import pandas as pd

    from sklearn_tcm.cli import read_data, read_labels

    X = np.random.default_rng(0).normal(size=(40, 3))
    pd.DataFrame(X).to_csv(tmp_path / "plain.csv", index=False)  # header 0,1,2
    np.testing.assert_allclose(read_data(tmp_path / "plain.csv"), X)
    pd.DataFrame(X).to_csv(tmp_path / "indexed.csv")  # header ,0,1,2 and an index column
    np.testing.assert_allclose(read_data(tmp_path / "indexed.csv"), X)
    pd.DataFrame(X).to_csv(tmp_path / "tabs.tsv", sep="\t", index=False)
    np.testing.assert_allclose(read_data(tmp_path / "tabs.tsv"), X)
    pd.DataFrame(X).to_csv(tmp_path / "tabs.dat", sep="\t")
    np.testing.assert_allclose(read_data(tmp_path / "tabs.dat", {"sep": "\t"}), X)
    # --no-header: the first line is data
    assert read_data(tmp_path / "plain.csv", {"header": False}).shape == (41, 3)
    y = np.arange(40) % 3
    pd.Series(y).to_csv(tmp_path / "y_indexed.csv")
    pd.Series(y).to_csv(tmp_path / "y_plain.csv", index=False)  # header "0"
    np.savetxt(tmp_path / "y.txt", y, fmt="%d")  # first line "0" is a label
    for name in ("y_indexed.csv", "y_plain.csv", "y.txt"):
        np.testing.assert_array_equal(read_labels(tmp_path / name, 40), y)


def test_cluster_writes_what_score_reads(files):
    for name in ("labels.out", "labels.tsv", "labels.npy"):
        code, _, err = run("cluster", "pretrained", files / "X.npy", "-o", files / name)
        assert code == 0, err
        code, out, err = run("score", "pretrained", files / "X.npy", files / name, "--quiet")
        assert code == 0 and np.isfinite(float(out)), err
    code, _, err = run("cluster", "pretrained", files / "X.npy", "-o", files / "labels.xyz")
    assert code == 1 and "score" in err


def test_header_line_is_skipped_and_data_rows_kept(tmp_path):
    from sklearn_tcm.cli import read_data

    (tmp_path / "h.csv").write_text("a,b\n1,2\n3,4\n")
    np.testing.assert_array_equal(read_data(tmp_path / "h.csv"), [[1, 2], [3, 4]])
    (tmp_path / "plain.csv").write_text("1,2\n3,4\n")
    assert read_data(tmp_path / "plain.csv").shape == (2, 2)


def test_pretrained_metric_from_the_command_line(files):
    code, out, err = run("score", "pretrained", files / "X.npy", files / "y.csv", "--quiet")
    assert code == 0, err
    truth = float(out)
    (files / "one.csv").write_text("0\n" * 90)
    code, out, err = run("score", "pretrained", files / "X.npy", files / "one.csv")
    # without --quiet the number comes with what it means
    assert code == 0 and "same data" in out
    assert float(out.split()[1]) < truth
    code, out, err = run("cluster", "pretrained", files / "X.npy", "-o", files / "p.csv")
    assert code == 0 and np.loadtxt(files / "p.csv").shape == (90,)


def test_cluster_options_reach_the_clusterer(files):
    code, out, err = run("cluster", "pretrained", files / "X.npy", "-o", files / "p.csv",
                         "--max-clusters", "2", "--seed", "3")
    assert code == 0, err
    assert np.unique(np.loadtxt(files / "p.csv")).size <= 2
    code, out, err = run("cluster", "pretrained", files / "X.npy", "-o", files / "e.csv",
                         "--search", "evolve")
    assert code == 0 and out.split()[1].rstrip(";") in ("cluster", "clusters"), err


def test_cluster_n_jobs_limits_threads_and_keeps_the_answer(files, monkeypatch, capsys):
    import torch

    import sklearn_tcm.learned_metric.critic_clustering as critic_clustering
    from sklearn_tcm.cli import main

    seen = []
    fit = critic_clustering.CriticClustering.fit

    def recording_fit(self, X, y=None):
        seen.append(torch.get_num_threads())
        return fit(self, X, y)

    monkeypatch.setattr(critic_clustering.CriticClustering, "fit", recording_fit)
    threads = torch.get_num_threads()
    data = str(files / "X.npy")
    assert main(["cluster", "pretrained", data, "-o", str(files / "all.npy")]) == 0
    assert main(["cluster", "pretrained", data, "-o", str(files / "one.npy"),
                 "--n-jobs", "1"]) == 0
    assert seen == [threads, 1] and torch.get_num_threads() == threads
    np.testing.assert_array_equal(np.load(files / "all.npy"), np.load(files / "one.npy"))
    assert main(["cluster", "pretrained", data, "-o", str(files / "z.npy"),
                 "--n-jobs", "0"]) == 1
    assert "--n-jobs" in capsys.readouterr().err


def test_version_and_examples_in_help():
    import sklearn_tcm

    code, out, _ = run("--version")
    assert code == 0 and sklearn_tcm.__version__ in out
    for command in ("demo", "fit", "cluster", "score"):
        code, out, _ = run(command, "--help")
        assert code == 0 and "examples:" in out and "sklearn-tcm " + command in out


def test_unknown_subcommand_and_method():
    code, _, err = run("frobnicate")
    assert code == 2 and "Traceback" not in err
    code, _, err = run("fit", "--method", "kmeans", "x.npy", "-o", "m.tcm")
    assert code == 2 and "invalid choice" in err


@pytest.mark.slow
def test_demo_quick_writes_the_figure(tmp_path):
    code, out, err = run("demo", "--quick", "--quiet", "--figure", tmp_path / "demo.png")
    assert code == 0, err
    assert "learned metric" in out and "k-means, true k = 5" in out
    assert "untrained critic" in out
    assert (tmp_path / "demo.png").stat().st_size > 10_000


def test_quick_demo_runs_on_one_thread_and_restores_the_threads(monkeypatch):
    import torch
    from threadpoolctl import threadpool_info

    from sklearn_tcm import cli

    seen = {}

    def work(quick, seed, verbose, n_jobs):
        seen["torch"] = torch.get_num_threads()
        seen["pools"] = {pool["num_threads"] for pool in threadpool_info()}
        return {"quick": quick}

    monkeypatch.setattr(cli, "_run_demo", work)
    before = torch.get_num_threads(), threadpool_info()
    assert cli.run_demo(quick=True) == {"quick": True}
    assert seen["torch"] == 1 and seen["pools"] <= {1}
    assert (torch.get_num_threads(), threadpool_info()) == before
    cli.run_demo(quick=False)  # the full budget keeps the process's threads
    assert seen["torch"] == before[0]


def test_pandas_index_column_is_skipped_with_a_note(tmp_path):
    pandas = pytest.importorskip("pandas")
    X, y = make_blobs(n_samples=150, centers=3, n_features=2, random_state=1)
    pandas.DataFrame(X, columns=["a", "b"]).to_csv(tmp_path / "with_index.csv")
    pandas.DataFrame(X, columns=["a", "b"]).to_csv(tmp_path / "plain.csv", index=False)
    code, out, err = run("cluster", "pretrained", tmp_path / "with_index.csv",
                         "-o", tmp_path / "a.csv")
    assert code == 0, err
    assert "row index written by pandas; skipped" in err
    code, out, err = run("cluster", "pretrained", tmp_path / "plain.csv",
                         "-o", tmp_path / "b.csv")
    assert code == 0 and "row index" not in err
    np.testing.assert_array_equal(np.loadtxt(tmp_path / "a.csv"),
                                  np.loadtxt(tmp_path / "b.csv"))


def test_output_paths_are_checked_before_any_work(files, tmp_path):
    missing = tmp_path / "missing_dir" / "labels.csv"
    code, out, err = run("cluster", "pretrained", files / "X.npy", "-o", missing)
    assert code == 1
    assert err.count("\n") == 1 and str(missing) in err and "does not exist" in err
    assert ".tmp" not in err
    code, out, err = run("fit", "--method", "dec", files / "X.csv", "-o",
                         tmp_path / "nowhere" / "m.tcm", *TINY_DEC)
    assert code == 1 and "does not exist" in err
    code, out, err = run("demo", "--quick", "--figure", tmp_path / "nowhere" / "f.png")
    assert code == 1 and "does not exist" in err


def test_help_examples_of_cluster_and_score_run_without_warnings(tmp_path, monkeypatch):
    import shlex
    import warnings

    import pandas as pd

    from sklearn_tcm import pretrained_metric
    from sklearn_tcm.cli import build_parser, main

    monkeypatch.chdir(tmp_path)
    X, y = make_blobs(n_samples=120, centers=3, n_features=4, random_state=0)
    for name in ("new_data.npy", "data.npy"):
        np.save(name, X)
    pd.DataFrame(X).to_csv("table.tsv", sep="\t", index=False)
    np.savetxt("labels.csv", y, fmt="%d")
    pretrained_metric().save("metric.tcm")
    commands = build_parser()._subparsers._group_actions[0].choices
    for command in ("cluster", "score"):
        examples = commands[command].epilog.split("\n")[1:]
        assert examples
        for line in examples:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                assert main(shlex.split(line)[1:]) == 0, line
            if command == "cluster":  # score reads the labels cluster wrote
                np.savetxt("labels.csv", y, fmt="%d")
