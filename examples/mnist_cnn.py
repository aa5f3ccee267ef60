"""Train the MNIST CNN: two 3x3 convolutions with 2x2 max-pooling, then 3136-128-10.

Conv2d(1,32,3,p1)-ReLU-MaxPool2d(2)-Conv2d(32,64,3,p1)-ReLU-MaxPool2d(2)-Flatten-
Linear(3136,128)-ReLU-Linear(128,10); inputs normalised (mean 0.1307, std 0.3081);
Adam lr 1e-3, batch 64.

    python examples/mnist_cnn.py --epochs 3
"""
import cunn.nn as nn
import cunn.optim as optim

import common


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Linear(64 * 7 * 7, 128), nn.ReLU(),
            nn.Linear(128, 10),
        )

    def forward(self, x):
        return self.classifier(self.features(x).view(-1, 64 * 7 * 7))


def main():
    options = common.parser(__doc__.splitlines()[0], epochs=3, batch_size=64, lr=1e-3)
    args = options.parse_args()
    common.setup(args)

    model = common.distribute(args, CNN())
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    train_loader, test_loader = common.mnist_loaders(args, flatten=False)
    common.run(args, model, optimizer,
               common.classifier_step(model, nn.CrossEntropyLoss(), optimizer),
               common.classifier_accuracy(model), train_loader, test_loader)


if __name__ == "__main__":
    main()
