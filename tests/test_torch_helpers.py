import numpy as np
import pytest
import torch

from sklearn_tcm._torch import (
    draw_seed,
    inference_device,
    iter_minibatches,
    make_generator,
    module_on,
    predict_batches,
    resolve_device,
    seeded_torch,
    to_tensor,
)


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    with pytest.raises(ValueError, match="not a valid torch device"):
        resolve_device("gpu-please")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda")
        assert inference_device("cuda") == torch.device("cpu")


def test_seeded_torch_is_local_and_reproducible():
    before = torch.random.get_rng_state()
    with seeded_torch(7):
        a = torch.nn.Linear(3, 2).weight.detach().clone()
    with seeded_torch(7):
        b = torch.nn.Linear(3, 2).weight.detach().clone()
    assert torch.equal(a, b)
    assert torch.equal(torch.random.get_rng_state(), before)  # global state untouched
    assert draw_seed(0) == draw_seed(0)


def test_minibatches_cover_every_index_once():
    batches = list(iter_minibatches(10, 3, generator=make_generator(0)))
    assert [len(b) for b in batches] == [3, 3, 3, 1]
    assert sorted(torch.cat(batches).tolist()) == list(range(10))
    again = list(iter_minibatches(10, 3, generator=make_generator(0)))
    assert all(torch.equal(u, v) for u, v in zip(batches, again))


def test_conversion_and_batched_prediction():
    X = np.arange(12, dtype=np.float64).reshape(6, 2)
    X.setflags(write=False)  # read-only input must be fine
    tensor = to_tensor(X, "cpu")
    assert tensor.dtype == torch.float32 and tensor.shape == (6, 2)
    module = torch.nn.Linear(2, 1)
    whole = predict_batches(module, X, device=torch.device("cpu"), batch_size=6)
    parts = predict_batches(module, X, device=torch.device("cpu"), batch_size=4)
    np.testing.assert_allclose(whole, parts, rtol=1e-12)
    assert module.weight.dtype == torch.float32  # the fitted module is not changed


def test_module_on_copies_only_when_it_must():
    cpu = torch.device("cpu")
    module = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(2, 1)).eval()
    assert module_on(module, cpu) is module  # already there: inference copies nothing
    assert module_on(module, "cpu", torch.float32) is module
    as_float64 = module_on(module, cpu, torch.float64)
    assert as_float64 is not module and as_float64[0].weight.dtype == torch.float64
    assert module[0].weight.dtype == torch.float32
    module[1].train()  # a module in training mode is copied, then put in eval mode
    copied = module_on(module, cpu)
    assert copied is not module and not copied[1].training and module[1].training


def _toy_training(validate_keys, **options):
    from sklearn_tcm._torch import train_loop

    with seeded_torch(0):
        module = torch.nn.Linear(2, 1)
        x, y = torch.randn(8, 2), torch.randn(8, 1)
    optimizer = torch.optim.SGD(module.parameters(), lr=0.1)
    keys = iter(validate_keys)
    states = []

    def validate(epoch):
        states.append({k: v.clone() for k, v in module.state_dict().items()})
        return {"v": epoch}, next(keys)

    def step(batch):
        if batch == "bad":
            return torch.tensor(float("nan"), requires_grad=True)
        return torch.nn.functional.mse_loss(module(x), y)

    history = train_loop(module, optimizer, len(validate_keys),
                         lambda epoch: ["ok", "bad", "ok"], step, validate=validate,
                         **options)
    return module, history, states


def test_train_loop_skips_non_finite_steps_and_restores_the_best_state():
    module, history, states = _toy_training([1.0, 3.0, 2.0, 2.5, 0.0, 9.0],
                                            n_iter_no_change=3)
    assert [r["iteration"] for r in history] == [3, 6, 9, 12, 15]   # 3 epochs without better
    assert all(r["unit"] == "epoch" and r["validation"] is None for r in history)
    assert all(r["skipped"] == 1 for r in history)
    assert all(np.isfinite(r["loss"]) for r in history)
    for key, value in module.state_dict().items():
        torch.testing.assert_close(value, states[1][key])       # the best key, 3.0


def test_train_loop_stops_on_request_and_keeps_the_last_state():
    from sklearn_tcm._torch import train_loop

    module = torch.nn.Linear(1, 1)
    optimizer = torch.optim.SGD(module.parameters(), lr=0.1)
    states = []

    def stop(record):
        states.append({k: v.clone() for k, v in module.state_dict().items()})
        return "enough" if record["iteration"] == 3 else None

    history = train_loop(module, optimizer, 10, lambda epoch: [0],
                         lambda _: module(torch.ones(1, 1)).sum(), stop=stop)
    assert len(history) == 3
    # the state kept is the last epoch's (no validation: nothing to restore), and
    # each epoch changed it
    for key, value in module.state_dict().items():
        torch.testing.assert_close(value, states[-1][key])
        assert not torch.equal(states[0][key], states[-1][key])
