"""PyTorch programs, written as a PyTorch user writes them, run on cunn with only their
imports changed.

Each program below is PyTorch source. ``port`` rewrites its import lines — and nothing
else — to cunn's, and the test runs the result. Data is generated (separable clusters
shaped like MNIST), so these tests need no dataset.
"""
import os
import re
import resource
import textwrap

import numpy as np
import pytest

import cunn

IMPORTS = {
    "import torch": "import cunn as torch",
    "import torch.nn as nn": "import cunn.nn as nn",
    "import torch.optim as optim": "import cunn.optim as optim",
    "import torch.nn.functional as F": "import cunn.nn.functional as F",
    "from torch.nn import DataParallel": "from cunn.nn import DataParallel",
}


def port(source):
    """The PyTorch program with its import lines replaced by cunn's."""
    lines = []
    for line in textwrap.dedent(source).splitlines():
        stripped = line.strip()
        if stripped.startswith(("import torch", "from torch")):
            assert stripped in IMPORTS, f"no cunn translation for {stripped!r}"
            line = line.replace(stripped, IMPORTS[stripped])
        lines.append(line)
    ported = "\n".join(lines)
    assert not re.search(r"^\s*(import|from) torch", ported, re.M)
    return ported


def run(source, **names):
    namespace = dict(names)
    exec(compile(port(source), "<pytorch program>", "exec"), namespace)  # noqa: S102
    return namespace


def clusters(count, seed=0, image=False):
    """Ten well-separated classes of 784-pixel 'images'."""
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(99).standard_normal((10, 784)).astype(np.float32)
    labels = rng.integers(0, 10, count)
    inputs = centres[labels] + 0.8 * rng.standard_normal((count, 784)).astype(np.float32)
    if image:
        inputs = inputs.reshape(count, 1, 28, 28)
    return inputs.astype(np.float32), labels.astype(np.int64)


def batches(inputs, labels, size):
    return [(cunn.tensor(inputs[i:i + size]), cunn.tensor(labels[i:i + size]))
            for i in range(0, len(labels), size)]


MLP_PROGRAM = """
    import torch
    import torch.nn as nn
    import torch.optim as optim

    class Net(nn.Module):
        def __init__(self):
            super(Net, self).__init__()
            self.fc1 = nn.Linear(784, 128)
            self.fc2 = nn.Linear(128, 10)

        def forward(self, x):
            x = torch.flatten(x, 1)
            x = torch.relu(self.fc1(x))
            x = self.fc2(x)
            return x

    torch.manual_seed(0)
    net = Net()
    if custom_init:
        net.fc1.weight.data.normal_(0.1, 0.3)
        net.fc1.bias.data.zero_()
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.SGD(net.parameters(), lr=0.01, momentum=0.9) if use_sgd \\
        else optim.Adam(net.parameters(), lr=0.001)

    losses = []
    for epoch in range(2):
        running_loss = 0.0
        for i, data in enumerate(trainloader, 0):
            inputs, labels = data
            optimizer.zero_grad()
            outputs = net(inputs)
            loss = criterion(outputs, labels)
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
        losses.append(running_loss / len(trainloader))

    correct = 0
    total = 0
    with torch.no_grad():
        for data in testloader:
            images, labels = data
            outputs = net(images)
            _, predicted = torch.max(outputs.data, 1)
            total += labels.size(0)
            correct += (predicted == labels).sum().item()
    accuracy = 100 * correct / total
"""


@pytest.mark.parametrize("use_sgd,custom_init", [(False, False), (True, False), (True, True)])
def test_mlp_tutorial_trains_and_evaluates(use_sgd, custom_init):
    train = batches(*clusters(3000, seed=1), 64)
    test = batches(*clusters(1000, seed=2), 250)
    result = run(MLP_PROGRAM, trainloader=train, testloader=test, use_sgd=use_sgd,
                 custom_init=custom_init)
    assert result["losses"][1] < result["losses"][0]
    assert result["total"] == 1000
    assert result["accuracy"] > 90
    if custom_init:
        assert result["net"].fc1.bias.grad is not None


CNN_PROGRAM = """
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    import torch.optim as optim

    class CNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 32, kernel_size=3, padding=1)
            self.conv2 = nn.Conv2d(32, 64, kernel_size=3, padding=1)
            self.pool = nn.MaxPool2d(2, 2)
            self.relu = nn.ReLU()
            self.fc1 = nn.Linear(64 * 7 * 7, 128)
            self.fc2 = nn.Linear(128, 10)

        def forward(self, x):
            x = self.pool(self.relu(self.conv1(x)))
            x = self.pool(self.relu(self.conv2(x)))
            x = x.view(-1, 64 * 7 * 7)
            x = F.relu(self.fc1(x))
            return self.fc2(x)

    torch.manual_seed(0)
    model = CNN()
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for images, labels in trainloader:
        optimizer.zero_grad()
        loss = criterion(model(images), labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        outputs = model(test_images)
        accuracy = (outputs.argmax(1) == test_labels).float().mean().item()
"""


def test_cnn_tutorial_learns():
    train = batches(*clusters(640, seed=1, image=True), 32)
    test_images, test_labels = clusters(200, seed=2, image=True)
    result = run(CNN_PROGRAM, trainloader=train, test_images=cunn.tensor(test_images),
                 test_labels=cunn.tensor(test_labels))
    assert np.mean(result["losses"][-5:]) < np.mean(result["losses"][:5])
    assert result["accuracy"] > 0.8


SAVE_LOAD_PROGRAM = """
    import torch
    import torch.nn as nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(784, 128)
            self.fc2 = nn.Linear(128, 10)

        def forward(self, x):
            return self.fc2(torch.relu(self.fc1(x)))

    net = Net()
    torch.save(net.state_dict(), path)
    restored = Net()
    restored.load_state_dict(torch.load(path))
    restored.eval()
    x = torch.randn(5, 784)
    same = torch.max(net(x) - restored(x)).item() == 0 and torch.min(net(x) - restored(x)).item() == 0
    keys = list(net.state_dict().keys())
"""


def test_save_and_load_state_dict(tmp_path):
    result = run(SAVE_LOAD_PROGRAM, path=str(tmp_path / "model.pth"))
    assert result["same"]
    assert result["keys"] == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert (tmp_path / "model.pth").exists()
    assert not (tmp_path / "model.pth.npz").exists()
    np.load(tmp_path / "model.pth", allow_pickle=False)  # loads without pickle


MULTITASK_PROGRAM = """
    import torch
    import torch.nn as nn
    import torch.optim as optim

    class MultiTaskNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.shared = nn.Sequential(nn.Linear(784, 128), nn.ReLU())
            self.task1 = nn.Linear(128, 10)
            self.task2 = nn.Linear(128, 2)

        def forward(self, x):
            h = self.shared(x)
            return {'task1': self.task1(h), 'task2': self.task2(h)}

    torch.manual_seed(0)
    model = MultiTaskNet()
    criteria = nn.ModuleDict({'task1': nn.CrossEntropyLoss(), 'task2': nn.CrossEntropyLoss()})
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    history = []
    for inputs, digits in trainloader:
        targets = {'task1': digits, 'task2': digits % 2}
        optimizer.zero_grad()
        outputs = model(inputs)
        loss = sum(criteria[name](outputs[name], targets[name]) for name in criteria)
        loss.backward()
        optimizer.step()
        history.append(loss.item())
    with torch.no_grad():
        outputs = model(test_inputs)
        digit_accuracy = (outputs['task1'].argmax(1) == test_digits).float().mean().item()
        parity_accuracy = (outputs['task2'].argmax(1) == test_digits % 2).float().mean().item()
"""


def test_multitask_with_a_module_dict_of_losses():
    train = batches(*clusters(3000, seed=1), 64)
    test_inputs, test_digits = clusters(500, seed=2)
    result = run(MULTITASK_PROGRAM, trainloader=train, test_inputs=cunn.tensor(test_inputs),
                 test_digits=cunn.tensor(test_digits))
    assert np.mean(result["history"][-10:]) < np.mean(result["history"][:10])
    assert result["digit_accuracy"] > 0.9 and result["parity_accuracy"] > 0.85
    # both heads and the trunk received gradients from the one backward
    model = result["model"]
    assert all(p.grad is not None for p in model.parameters())


DATA_PARALLEL_PROGRAM = """
    import torch
    import torch.nn as nn
    from torch.nn import DataParallel

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    net = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    model = DataParallel(net).to(device)
    x = torch.randn(4, 784).to(device)
    out = model(x)
    direct = net(x)
    keys = list(model.state_dict().keys())
    parameters = sum(p.numel() for p in model.parameters() if p.requires_grad)
"""


def test_data_parallel_is_transparent():
    result = run(DATA_PARALLEL_PROGRAM)
    np.testing.assert_array_equal(result["out"].numpy(), result["direct"].numpy())
    assert result["keys"][0] == "module.0.weight"
    assert result["parameters"] == 784 * 128 + 128 + 128 * 10 + 10


FULL_BATCH_PROGRAM = """
    import torch
    import torch.nn as nn
    import torch.optim as optim

    torch.manual_seed(0)
    X = torch.randn(60000, 784)
    y = torch.randint(0, 10, (60000,))
    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for step in range(6):
        optimizer.zero_grad()
        loss = criterion(model(X), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
"""


def test_full_batch_training_on_random_data():
    losses = run(FULL_BATCH_PROGRAM)["losses"]
    assert all(np.isfinite(losses)) and losses[-1] < losses[0]


def _resident_kib():
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * resource.getpagesize() // 1024


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"),
                    reason="needs /proc to read the resident set size")
def test_memory_does_not_grow_step_after_step():
    import cunn.nn as nn
    import cunn.optim as optim

    cunn.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    criterion = nn.CrossEntropyLoss()
    inputs, labels = cunn.randn(64, 784), cunn.randint(0, 10, (64,))
    resident = {}
    for step in range(1, 2001):
        optimizer.zero_grad()
        loss = criterion(model(inputs), labels)
        loss.backward()
        optimizer.step()
        if step in (200, 2000):
            resident[step] = _resident_kib()
    assert resident[2000] - resident[200] < 4 * 1024, resident
