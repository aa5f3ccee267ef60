"""PyTorch programs, written as a PyTorch user writes them, run on cunn with only their
imports changed.

Each program below is PyTorch source. ``port`` rewrites its import lines — and nothing
else — to cunn's, and the test runs the result. Data is generated (separable clusters
shaped like MNIST), so these tests need no dataset.
"""
import os
import re
import resource
import shutil
import socket
import sys
import textwrap

import numpy as np
import pytest

import cunn

PACKAGES = {"torch": "cunn", "torchvision": "cunn.vision"}


def _translate(statement):
    """One import statement of torch or torchvision as cunn's: ``import torch`` ->
    ``import cunn as torch``, ``import torch.nn as nn`` -> ``import cunn.nn as nn``,
    ``from torchvision import datasets`` -> ``from cunn.vision import datasets``."""
    plain = re.fullmatch(r"import (torch|torchvision)((?:\.\w+)*)(?: as (\w+))?", statement)
    if plain:
        package, path, alias = plain.groups()
        if alias is None:  # `import torch.nn` binds `torch`; cunn's submodules are attributes
            return f"import {PACKAGES[package]} as {package}"
        return f"import {PACKAGES[package]}{path} as {alias}"
    from_import = re.fullmatch(r"from (torch|torchvision)((?:\.\w+)*) import (.+)", statement)
    assert from_import, f"no cunn translation for {statement!r}"
    package, path, names = from_import.groups()
    return f"from {PACKAGES[package]}{path} import {names}"


def port(source):
    """The PyTorch program with its import lines replaced by cunn's, and nothing else."""
    lines = []
    for line in textwrap.dedent(source).splitlines():
        stripped = line.strip()
        if re.match(r"(import|from) torch", stripped):
            line = line.replace(stripped, _translate(stripped))
        lines.append(line)
    ported = "\n".join(lines)
    assert not re.search(r"^\s*(import|from) torch", ported, re.M)
    return ported


def test_port_changes_import_lines_only():
    source = ("import torch\nimport torch.nn as nn\nimport torch.utils.data\n"
              "from torchvision import datasets, transforms\n"
              "from torch.optim.lr_scheduler import StepLR\nx = torch.zeros(1)  # torch stays\n")
    assert port(source).splitlines() == [
        "import cunn as torch", "import cunn.nn as nn", "import cunn as torch",
        "from cunn.vision import datasets, transforms",
        "from cunn.optim.lr_scheduler import StepLR", "x = torch.zeros(1)  # torch stays"]


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


# ---- the 60-minute blitz's autograd tutorial ----

AUTOGRAD_BLITZ = """
    import torch

    x = torch.ones(2, 2, requires_grad=True)
    y = x + 2
    z = y * y * 3
    out = z.mean()
    out.backward()
    first_grad = x.grad

    x = torch.randn(3, requires_grad=True)
    y = x * 2
    while y.data.norm() < 1000:
        y = y * 2
    v = torch.tensor([0.1, 1.0, 0.0001], dtype=torch.float)
    y.backward(v)
    scaled_grad = x.grad

    print(x.requires_grad)
    print((x ** 2).requires_grad)
    with torch.no_grad():
        inside = (x ** 2).requires_grad
    detached = x.detach()
    same = x.eq(detached).all()
    legacy = torch.Tensor([[1, 2], [3, 4]])
    spread = torch.Tensor(2, 3).fill_(1.5).std(dim=1, unbiased=False)
"""


def test_autograd_blitz():
    result = run(AUTOGRAD_BLITZ)
    np.testing.assert_allclose(result["first_grad"].numpy(), np.full((2, 2), 4.5))
    y, x = result["y"], result["x"]
    factor = (y.detach() / x.detach()).numpy()[0]  # the power of two the loop reached
    np.testing.assert_allclose(result["scaled_grad"].numpy(),
                               factor * np.array([0.1, 1.0, 0.0001], np.float32), rtol=1e-6)
    assert not result["inside"] and bool(result["same"])
    assert result["legacy"].dtype == cunn.float32 and result["spread"].tolist() == [0.0, 0.0]


# ---- a validation split with the best weights kept (the transfer-learning tutorial's loop) ----

BEST_WEIGHTS_PROGRAM = """
    import copy
    import torch
    import torch.nn as nn
    from torch.utils.data import DataLoader, TensorDataset, random_split

    generator = torch.Generator().manual_seed(42)
    dataset = TensorDataset(torch.tensor(inputs), torch.tensor(labels))
    train_set, val_set = random_split(dataset, [0.8, 0.2], generator=generator)
    train_loader = DataLoader(train_set, batch_size=64, shuffle=True, generator=generator)
    val_loader = DataLoader(val_set, batch_size=256)

    model = nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10))
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    best_model_wts = copy.deepcopy(model.state_dict())
    best_acc = 0.0
    history = []
    for epoch in range(3):
        model.train()
        for inputs_batch, labels_batch in train_loader:
            optimizer.zero_grad()
            loss = criterion(model(inputs_batch), labels_batch)
            loss.backward()
            optimizer.step()
        scheduler.step()
        model.eval()
        correct = 0
        with torch.inference_mode():
            for inputs_batch, labels_batch in val_loader:
                _, preds = torch.max(model(inputs_batch), 1)
                correct += torch.sum(preds == labels_batch.data).item()
        epoch_acc = correct / len(val_set)
        history.append(epoch_acc)
        if epoch_acc > best_acc:
            best_acc = epoch_acc
            best_model_wts = copy.deepcopy(model.state_dict())
    snapshot = {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_model_wts)
"""


def test_best_weights_loop_with_random_split_and_state_dict_copies():
    inputs, labels = clusters(2000, seed=3)
    result = run(BEST_WEIGHTS_PROGRAM, inputs=inputs, labels=labels)
    assert len(result["val_set"]) == 400 and len(result["train_set"]) == 1600
    assert result["best_acc"] == max(result["history"]) and result["best_acc"] > 0.9
    model, best = result["model"], result["best_model_wts"]
    for key, value in model.state_dict().items():
        assert isinstance(value, cunn.Tensor)
        np.testing.assert_array_equal(value.numpy(), best[key].numpy())


# ---- the PyTorch project's MNIST example (pytorch/examples, mnist/main.py) ----

MNIST_EXAMPLE = """
    import argparse
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    import torch.optim as optim
    from torchvision import datasets, transforms
    from torch.optim.lr_scheduler import StepLR


    class Net(nn.Module):
        def __init__(self):
            super(Net, self).__init__()
            self.conv1 = nn.Conv2d(1, 32, 3, 1)
            self.conv2 = nn.Conv2d(32, 64, 3, 1)
            self.dropout1 = nn.Dropout(0.25)
            self.dropout2 = nn.Dropout(0.5)
            self.fc1 = nn.Linear(9216, 128)
            self.fc2 = nn.Linear(128, 10)

        def forward(self, x):
            x = self.conv1(x)
            x = F.relu(x)
            x = self.conv2(x)
            x = F.relu(x)
            x = F.max_pool2d(x, 2)
            x = self.dropout1(x)
            x = torch.flatten(x, 1)
            x = self.fc1(x)
            x = F.relu(x)
            x = self.dropout2(x)
            x = self.fc2(x)
            output = F.log_softmax(x, dim=1)
            return output


    def train(args, model, device, train_loader, optimizer, epoch):
        model.train()
        for batch_idx, (data, target) in enumerate(train_loader):
            data, target = data.to(device), target.to(device)
            optimizer.zero_grad()
            output = model(data)
            loss = F.nll_loss(output, target)
            loss.backward()
            optimizer.step()
            if batch_idx % args.log_interval == 0:
                print('Train Epoch: {} [{}/{} ({:.0f}%)]\\tLoss: {:.6f}'.format(
                    epoch, batch_idx * len(data), len(train_loader.dataset),
                    100. * batch_idx / len(train_loader), loss.item()))
                if args.dry_run:
                    break


    def test(model, device, test_loader):
        model.eval()
        test_loss = 0
        correct = 0
        with torch.no_grad():
            for data, target in test_loader:
                data, target = data.to(device), target.to(device)
                output = model(data)
                test_loss += F.nll_loss(output, target, reduction='sum').item()
                pred = output.argmax(dim=1, keepdim=True)
                correct += pred.eq(target.view_as(pred)).sum().item()

        test_loss /= len(test_loader.dataset)

        print('\\nTest set: Average loss: {:.4f}, Accuracy: {}/{} ({:.0f}%)\\n'.format(
            test_loss, correct, len(test_loader.dataset),
            100. * correct / len(test_loader.dataset)))


    def main():
        # Training settings
        parser = argparse.ArgumentParser(description='PyTorch MNIST Example')
        parser.add_argument('--batch-size', type=int, default=64, metavar='N',
                            help='input batch size for training (default: 64)')
        parser.add_argument('--test-batch-size', type=int, default=1000, metavar='N',
                            help='input batch size for testing (default: 1000)')
        parser.add_argument('--epochs', type=int, default=14, metavar='N',
                            help='number of epochs to train (default: 14)')
        parser.add_argument('--lr', type=float, default=1.0, metavar='LR',
                            help='learning rate (default: 1.0)')
        parser.add_argument('--gamma', type=float, default=0.7, metavar='M',
                            help='Learning rate step gamma (default: 0.7)')
        parser.add_argument('--no-cuda', action='store_true', default=False,
                            help='disables CUDA training')
        parser.add_argument('--no-mps', action='store_true', default=False,
                            help='disables macOS GPU training')
        parser.add_argument('--dry-run', action='store_true', default=False,
                            help='quickly check a single pass')
        parser.add_argument('--seed', type=int, default=1, metavar='S',
                            help='random seed (default: 1)')
        parser.add_argument('--log-interval', type=int, default=10, metavar='N',
                            help='how many batches to wait before logging training status')
        parser.add_argument('--save-model', action='store_true', default=False,
                            help='For Saving the current Model')
        args = parser.parse_args()
        use_cuda = not args.no_cuda and torch.cuda.is_available()
        use_mps = not args.no_mps and torch.backends.mps.is_available()

        torch.manual_seed(args.seed)

        if use_cuda:
            device = torch.device("cuda")
        elif use_mps:
            device = torch.device("mps")
        else:
            device = torch.device("cpu")

        train_kwargs = {'batch_size': args.batch_size}
        test_kwargs = {'batch_size': args.test_batch_size}
        if use_cuda:
            cuda_kwargs = {'num_workers': 1,
                           'pin_memory': True,
                           'shuffle': True}
            train_kwargs.update(cuda_kwargs)
            test_kwargs.update(cuda_kwargs)

        transform=transforms.Compose([
            transforms.ToTensor(),
            transforms.Normalize((0.1307,), (0.3081,))
            ])
        dataset1 = datasets.MNIST('../data', train=True, download=True,
                           transform=transform)
        dataset2 = datasets.MNIST('../data', train=False,
                           transform=transform)
        train_loader = torch.utils.data.DataLoader(dataset1,**train_kwargs)
        test_loader = torch.utils.data.DataLoader(dataset2, **test_kwargs)

        model = Net().to(device)
        optimizer = optim.Adadelta(model.parameters(), lr=args.lr)

        scheduler = StepLR(optimizer, step_size=1, gamma=args.gamma)
        for epoch in range(1, args.epochs + 1):
            train(args, model, device, train_loader, optimizer, epoch)
            test(model, device, test_loader)
            scheduler.step()

        if args.save_model:
            torch.save(model.state_dict(), "mnist_cnn.pt")


    if __name__ == '__main__':
        main()
"""


def _real_mnist_folder():
    root = os.environ.get("CUNN_DATA")
    folder = os.path.join(root, "mnist") if root else None
    if folder is None or not all(os.path.isfile(os.path.join(folder, name + ".gz"))
                                 for name in cunn.data.mnist.FILES):
        pytest.skip("real MNIST not available: set CUNN_DATA to a folder whose mnist/ holds "
                    "the four .gz IDX files")
    return folder


def _closed_port_url():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/"


@pytest.mark.slow
@pytest.mark.mnist
def test_pytorch_mnist_example_reaches_98_percent_in_one_epoch(tmp_path, monkeypatch, capsys):
    source = _real_mnist_folder()
    # torchvision's layout under the example's '../data', seen from its working folder
    raw = tmp_path / "data" / "MNIST" / "raw"
    os.makedirs(raw)
    for name in cunn.data.mnist.FILES:
        shutil.copy(os.path.join(source, name + ".gz"), raw)
    os.makedirs(tmp_path / "work")
    monkeypatch.chdir(tmp_path / "work")
    monkeypatch.setenv("CUNN_MNIST_MIRRORS", _closed_port_url())  # the files must be found
    monkeypatch.setattr(sys, "argv", ["main.py", "--epochs", "1", "--save-model"])
    run(MNIST_EXAMPLE, __name__="__main__")
    printed = capsys.readouterr().out
    found = re.findall(r"Test set: Average loss: ([0-9.]+), Accuracy: (\d+)/(\d+)", printed)
    assert len(found) == 1, printed[-2000:]
    loss, correct, total = float(found[0][0]), int(found[0][1]), int(found[0][2])
    print(f"PyTorch MNIST example on cunn, 1 epoch: test accuracy {correct / total:.2%}, "
          f"loss {loss:.4f}")
    assert total == 10000 and correct >= 9800 and loss < 0.07
    assert "Train Epoch: 1 [59520/60000" in printed
    state = cunn.load("mnist_cnn.pt")
    assert list(state) == ["conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias",
                           "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert sorted(os.listdir(tmp_path)) == ["data", "work"]  # nothing else was created


# ---- a Fashion-MNIST MLP with dropout and per-group weight decay, against PyTorch ----

FASHION_MLP = """
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    from torch.utils.data import DataLoader, TensorDataset

    torch.manual_seed(0)

    def make_dataset(images, labels):
        x = torch.tensor(images, dtype=torch.float32).div(255).sub(0.2860).div(0.3530)
        return TensorDataset(x.view(-1, 28 * 28), torch.tensor(labels, dtype=torch.long))

    train_loader = DataLoader(make_dataset(x_train, y_train), batch_size=128, shuffle=True)
    test_loader = DataLoader(make_dataset(x_test, y_test), batch_size=1000)

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(28 * 28, 256)
            self.fc2 = nn.Linear(256, 128)
            self.fc3 = nn.Linear(128, 10)
            self.dropout = nn.Dropout(0.2)

        def forward(self, x):
            x = self.dropout(F.relu(self.fc1(x)))
            x = self.dropout(F.relu(self.fc2(x)))
            return self.fc3(x)

    model = MLP()
    decay = [p for name, p in model.named_parameters() if name.endswith("weight")]
    no_decay = [p for name, p in model.named_parameters() if name.endswith("bias")]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 1e-4},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=1e-3)
    criterion = nn.CrossEntropyLoss()
    for epoch in range(epochs):
        model.train()
        for inputs, targets in train_loader:
            optimizer.zero_grad()
            loss = criterion(model(inputs), targets)
            loss.backward()
            optimizer.step()

    model.eval()
    correct = 0
    with torch.no_grad():
        for inputs, targets in test_loader:
            correct += (model(inputs).argmax(1) == targets).sum().item()
    accuracy = 100.0 * correct / len(test_loader.dataset)
"""

FASHION_FOLDERS = ("/usr/share/datasets/fashion-mnist",)


def _fashion_mnist():
    folders = list(FASHION_FOLDERS)
    if os.environ.get("CUNN_DATA"):
        folders.insert(0, os.path.join(os.environ["CUNN_DATA"], "fashion-mnist"))
    for folder in folders:
        if all(os.path.isfile(os.path.join(folder, name + ".gz"))
               for name in cunn.data.mnist.FILES):
            return cunn.data.mnist.load(folder, download=False)
    pytest.skip("Fashion-MNIST not found in " + ", ".join(folders)
                + " (apt-get install dataset-fashion-mnist, or put its four .gz IDX files "
                  "in $CUNN_DATA/fashion-mnist)")


@pytest.mark.slow
def test_fashion_mnist_mlp_matches_pytorchs_accuracy():
    (x_train, y_train), (x_test, y_test) = _fashion_mnist()
    names = dict(x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test, epochs=3)
    ours = run(FASHION_MLP, **names)["accuracy"]
    torch = pytest.importorskip("torch", reason="PyTorch gives the reference accuracy")
    theirs = {**names, "__name__": "torch_reference"}  # the same program, unported
    exec(compile(textwrap.dedent(FASHION_MLP), "<pytorch program>", "exec"), theirs)  # noqa: S102
    print(f"Fashion-MNIST MLP, 3 epochs: cunn {ours:.2f}%, PyTorch {torch.__version__} "
          f"{theirs['accuracy']:.2f}%")
    assert ours > 85.0
    assert abs(ours - theirs["accuracy"]) <= 1.0
