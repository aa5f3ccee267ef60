"""Train a two-head network on MNIST: the digit, and whether it is odd or even.

A shared 784-256 trunk feeds two heads; a ModuleDict of cross-entropy losses, one
per task, is summed and backpropagated once. Adam lr 1e-3, batch 64. Both test
accuracies are reported.

    python examples/multitask.py --epochs 10
"""
import cunn
import cunn.nn as nn
import cunn.optim as optim

import common


class TwoHeads(nn.Module):
    def __init__(self):
        super().__init__()
        self.trunk = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU())
        self.heads = nn.ModuleDict({
            "digit": nn.Linear(256, 10),
            "parity": nn.Linear(256, 2),
        })

    def forward(self, x):
        shared = self.trunk(x)
        return {task: head(shared) for task, head in self.heads.items()}


def targets(labels):
    return {"digit": labels, "parity": labels % 2}


def main():
    options = common.parser(__doc__.splitlines()[0], epochs=10, batch_size=64, lr=1e-3)
    args = options.parse_args()
    common.setup(args)

    model = common.distribute(args, TwoHeads())
    losses = nn.ModuleDict({"digit": nn.CrossEntropyLoss(), "parity": nn.CrossEntropyLoss()})
    optimizer = optim.Adam(model.parameters(), lr=args.lr)

    def train_step(batch):
        images, labels = batch
        optimizer.zero_grad()
        outputs, wanted = model(images), targets(labels)
        loss = sum(losses[task](outputs[task], wanted[task]) for task in losses)
        loss.backward()
        optimizer.step()
        return loss.item()

    def evaluate(loader):
        correct = {task: 0 for task in losses}
        total = 0
        for images, labels in loader:
            outputs, wanted = model(images), targets(labels)
            for task in losses:
                _, predicted = cunn.max(outputs[task].data, 1)
                correct[task] += (predicted == wanted[task]).sum().item()
            total += labels.size(0)
        return {f"{task}_accuracy": 100.0 * correct[task] / total for task in losses}

    train_loader, test_loader = common.mnist_loaders(args, flatten=False)
    common.run(args, model, optimizer, train_step, evaluate, train_loader, test_loader)


if __name__ == "__main__":
    main()
