"""kerasgan's training steps against PyTorch re-implementations of the reference code
(benchmarks/reference_equivalence.py: junyanz pix2pix, tamarott SinGAN), from the same weights
and batch. Tolerance 1e-4 absolute on losses and weights (see the benchmark's docstring)."""

import pathlib
import sys

import pytest

pytest.importorskip("torch", reason="torch is not installed: pip install torch==2.13.0 (CPU wheel)")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "benchmarks"))

import reference_equivalence as reference  # noqa: E402

pytestmark = pytest.mark.slow


def _check(result):
    for term, (ours, theirs) in result["losses"].items():
        assert abs(ours - theirs) <= reference.TOLERANCE, (term, ours, theirs)
    assert result["max_weight_difference"] <= reference.TOLERANCE


def test_pix2pix_step_equals_the_reference():
    result = reference.pix2pix_step()
    assert result["forward_difference"] <= 1e-5  # the weights were copied into the same layout
    _check(result)
    assert result["max_moving_statistic_difference"] <= reference.TOLERANCE


def test_singan_iteration_equals_the_reference():
    result = reference.singan_iteration()
    _check(result)
    assert result["max_output_difference_eval_mode"] <= reference.TOLERANCE
    assert result["max_moving_mean_difference"] <= reference.TOLERANCE


def test_singan_critic_step_gradients_equal_the_reference_with_sgd():
    """SGD with lr 1: the update is the gradient itself, penalty's second derivatives included."""
    result = reference.singan_iteration(critic_steps=1, generator_steps=0, sgd_learning_rate=1.0)
    assert result["max_weight_difference"] <= 1e-5
