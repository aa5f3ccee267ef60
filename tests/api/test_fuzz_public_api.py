"""A bounded, seeded fuzz of the public API: every hostile call returns or raises a
documented exception type (ValueError, TypeError, IndexError, RuntimeError, MemoryError;
DatasetError and CorruptFileError are ValueErrors) within a time limit, and nothing
crashes or hangs. The calls run in a child process (tests/api/fuzz_public_api.py) so
that a crash is reported with the call that caused it."""
import os
import subprocess
import sys
from pathlib import Path

from python_process import _PACKAGE_PARENT

HARNESS = Path(__file__).with_name("fuzz_public_api.py")
EXAMPLES = 3000
HARD_LIMIT = 900  # seconds for the whole run: past that something hangs


def test_hostile_calls_raise_documented_errors_and_never_crash_or_hang(tmp_path):
    log = tmp_path / "calls.log"
    environment = {**os.environ, "PYTHONPATH": _PACKAGE_PARENT, "OMP_NUM_THREADS": "2"}
    try:
        finished = subprocess.run([sys.executable, str(HARNESS), str(EXAMPLES), str(log)],
                                  capture_output=True, text=True, timeout=HARD_LIMIT,
                                  env=environment, cwd=tmp_path)
    except subprocess.TimeoutExpired:
        calls = log.read_text().splitlines() if log.exists() else []
        raise AssertionError(f"the fuzz run hung; last call: {calls[-1:]}") from None
    calls = log.read_text().splitlines() if log.exists() else []
    assert finished.returncode >= 0, (f"the fuzz process crashed (signal "
                                      f"{-finished.returncode}) in: {calls[-1:]}\n"
                                      f"{finished.stderr[-2000:]}")
    assert calls and calls[-1] == "done", finished.stderr[-3000:]
    assert finished.returncode == 0, ("calls that raised undocumented errors or ran too "
                                      "long:\n" + finished.stdout[-8000:])


def test_what_the_fuzz_found_raises_documented_errors():
    import math

    import numpy as np
    import pytest

    import cunn

    # Sizes past 2**63 raised OverflowError from NumPy's conversion.
    with pytest.raises(ValueError, match="Linear: in_features must be < 2\\*\\*63"):
        cunn.nn.Linear(10 ** 30, 2)
    with pytest.raises(ValueError, match="Conv2d: .* must be < 2\\*\\*63"):
        cunn.nn.Conv2d(1, 1, 10 ** 30)
    with pytest.raises(ValueError, match="zeros: sizes must be >= 0 and < 2\\*\\*63"):
        cunn.zeros(10 ** 30)
    with pytest.raises(TypeError, match="randint: high must be an int, got float inf"):
        cunn.randint(0, math.inf, (3,))
    # A Python int outside a small integer dtype is promoted, not an OverflowError.
    small = cunn.tensor(np.array([1, 2], np.uint8))
    np.testing.assert_allclose((small / -3).numpy(), [-1 / 3, -2 / 3], rtol=1e-6)
    assert (small + (-3)).tolist() == [-2, -1]
    with pytest.raises(ValueError, match="full: fill_value 10+ does not fit int64"):
        cunn.full(6, 10 ** 30)
