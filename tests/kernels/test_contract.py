"""Every backend implements the whole kernel contract (cunn/_backends/interface.py), with
the parameter names and defaults its docstring gives."""
import ast
import inspect
import re

import pytest

import cunn
from cunn._backends import get
from cunn._backends import interface
from cunn._backends.interface import ALL_KERNELS, missing_kernels


@pytest.mark.parametrize("name", cunn.available_backends())
def test_backend_implements_every_kernel(name):
    assert missing_kernels(get(name)) == []


def contract_signature(name):
    """[(parameter, default)] of ``name`` as the contract's docstring writes its call."""
    # The parameter list may hold one level of parentheses (a default of ``()``).
    match = re.search(r"(?:^|  )\s*" + re.escape(name) + r"\(((?:[^()]|\([^()]*\))*)\)",
                      interface.__doc__, re.M)
    assert match, f"{name} has no signature in the contract's docstring"
    namespace = {}
    exec(f"def kernel({' '.join(match.group(1).split())}): pass", namespace)
    return [(p.name, p.default) for p in inspect.signature(namespace["kernel"]).parameters.values()]


def split_top_level(text):
    """``text`` split at the commas outside brackets."""
    parts, depth, start = [], 0, 0
    for index, char in enumerate(text):
        if char in "[(":
            depth += 1
        elif char in "])":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return [part.strip() for part in parts if part.strip()]


def implemented_signature(function):
    """[(parameter, default)] of a backend's kernel: a Python function's signature, or a
    pybind11 function's, from the first line of its docstring."""
    try:
        parameters = inspect.signature(function).parameters.values()
        return [(p.name, p.default) for p in parameters]
    except ValueError:
        pass
    match = re.match(r"\w+\((.*)\) ->", function.__doc__.lstrip())
    assert match, f"no signature for {function!r}"
    result = []
    for parameter in split_top_level(match.group(1)):
        name, _, rest = parameter.partition(":")
        default = rest.partition(" = ")[2]
        result.append((name.strip(), ast.literal_eval(default) if default
                       else inspect.Parameter.empty))
    return result


@pytest.mark.parametrize("name", cunn.available_backends())
def test_backend_kernels_have_the_contract_signatures(name):
    backend = get(name)
    differ = {kernel: (implemented_signature(getattr(backend, kernel)), contract_signature(kernel))
              for kernel in ALL_KERNELS
              if implemented_signature(getattr(backend, kernel)) != contract_signature(kernel)}
    assert differ == {}


def test_compiled_backend_is_present():
    assert "cpu" in cunn.available_backends(), "the compiled backend must build and import"


def test_contract_lists_no_duplicates():
    assert len(set(ALL_KERNELS)) == len(ALL_KERNELS)


def test_unknown_backend_is_a_value_error():
    with pytest.raises(ValueError, match="unknown backend"):
        cunn.use_backend("tpu")


def test_backend_context_restores_previous():
    from cunn._backends import current

    outer = current()
    with cunn.backend("numpy") as inner:
        assert current() is inner
        assert inner.NAME == "numpy"
    assert current() is outer
