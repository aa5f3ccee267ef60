"""Train the 784-128-10 MLP on MNIST (ReLU, cross-entropy, batch 64).

Adam with lr 1e-3 by default; ``--optimizer sgd`` trains the same network with SGD,
lr 0.01, momentum 0.9, and ``--custom-init`` re-initialises the weights from
normal(0.1, 0.3) with zero biases, as in the classic tutorial.

    python examples/mnist_mlp.py --epochs 10
    python examples/mnist_mlp.py --optimizer sgd --custom-init
"""
import cunn
import cunn.nn as nn
import cunn.optim as optim

import common


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        return self.fc2(cunn.relu(self.fc1(cunn.flatten(x, 1))))


def main():
    options = common.parser(__doc__.splitlines()[0], epochs=10, batch_size=64, lr=None)
    options.add_argument("--optimizer", choices=("adam", "sgd"), default="adam",
                         help="adam (lr 1e-3) or sgd (lr 0.01, momentum 0.9)")
    options.add_argument("--momentum", type=float, default=0.9, help="SGD momentum")
    options.add_argument("--custom-init", action="store_true",
                         help="weights from normal(0.1, 0.3), biases zero")
    args = options.parse_args()
    common.setup(args)

    model = MLP()
    if args.custom_init:
        for layer in (model.fc1, model.fc2):
            layer.weight.data.normal_(0.1, 0.3)
            layer.bias.data.zero_()
    model = common.distribute(args, model)
    if args.optimizer == "adam":
        args.lr = 1e-3 if args.lr is None else args.lr
        optimizer = optim.Adam(model.parameters(), lr=args.lr)
    else:
        args.lr = 0.01 if args.lr is None else args.lr
        optimizer = optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)

    train_loader, test_loader = common.mnist_loaders(args, flatten=True)
    common.run(args, model, optimizer,
               common.classifier_step(model, nn.CrossEntropyLoss(), optimizer),
               common.classifier_accuracy(model), train_loader, test_loader)


if __name__ == "__main__":
    main()
