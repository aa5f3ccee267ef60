"""Run Python code in a child process that imports the same cunn as the tests.

A child started in the repository root would put the source tree first on
``sys.path`` and import ``cunn/`` without its compiled module; running it from a
scratch folder with the tested package's parent on ``PYTHONPATH`` avoids that.
"""
import os
import subprocess
import sys
import tempfile

import cunn

_PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(cunn.__file__)))


def run_python(code, timeout=60, **environment):
    """Runs ``python -c code`` with extra environment variables; returns its stripped stdout."""
    env = {**os.environ, **environment}
    env["PYTHONPATH"] = os.pathsep.join(
        [_PACKAGE_PARENT] + [path for path in env.get("PYTHONPATH", "").split(os.pathsep) if path])
    with tempfile.TemporaryDirectory() as scratch:
        finished = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                  env=env, cwd=scratch, timeout=timeout)
    assert finished.returncode == 0, finished.stderr
    return finished.stdout.strip()
