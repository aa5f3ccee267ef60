"""Train the 784-128-64-10 MLP on MNIST with SGD (lr 0.01, momentum 0.9, batch 64).

    python examples/mnist_mlp3.py --epochs 10
"""
import cunn.nn as nn
import cunn.optim as optim

import common


def build_model():
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(784, 128), nn.ReLU(),
        nn.Linear(128, 64), nn.ReLU(),
        nn.Linear(64, 10),
    )


def main():
    options = common.parser(__doc__.splitlines()[0], epochs=10, batch_size=64, lr=0.01)
    options.add_argument("--momentum", type=float, default=0.9, help="SGD momentum")
    args = options.parse_args()
    common.setup(args)

    model = common.distribute(args, build_model())
    optimizer = optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)
    train_loader, test_loader = common.mnist_loaders(args, flatten=True)
    common.run(args, model, optimizer,
               common.classifier_step(model, nn.CrossEntropyLoss(), optimizer),
               common.classifier_accuracy(model), train_loader, test_loader)


if __name__ == "__main__":
    main()
