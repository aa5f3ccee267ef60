"""Train LeNet with batch normalisation on Fashion-MNIST (d2l.ai's "LeNet with batch norm").

Conv2d(1,6,5)-BatchNorm2d-Sigmoid-AvgPool2d(2,2)-Conv2d(6,16,5)-BatchNorm2d-Sigmoid-
AvgPool2d(2,2)-Flatten-Linear(256,120)-BatchNorm1d-Sigmoid-Linear(120,84)-BatchNorm1d-
Sigmoid-Linear(84,10); images in [0, 1] (no normalisation); Xavier-uniform weights;
SGD lr 1.0, batch 256, 10 epochs, as d2l trains it.

    apt-get install dataset-fashion-mnist     # or: --data FOLDER with the four IDX files
    python examples/fashion_lenet.py --epochs 10
"""
import os

import cunn.nn as nn
import cunn.optim as optim

import common

# Where Debian's dataset-fashion-mnist package puts the IDX files, then $CUNN_DATA.
DEFAULT_FOLDERS = ("/usr/share/datasets/fashion-mnist",
                   os.path.join(os.environ.get("CUNN_DATA", ""), "fashion-mnist"))


def lenet_batch_norm():
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5), nn.BatchNorm2d(6), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), nn.BatchNorm2d(16), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2), nn.Flatten(),
        nn.Linear(16 * 4 * 4, 120), nn.BatchNorm1d(120), nn.Sigmoid(),
        nn.Linear(120, 84), nn.BatchNorm1d(84), nn.Sigmoid(),
        nn.Linear(84, 10))


def xavier_init(module):
    if isinstance(module, (nn.Linear, nn.Conv2d)):
        nn.init.xavier_uniform_(module.weight)


def default_data_folder():
    for folder in DEFAULT_FOLDERS:
        if os.path.exists(os.path.join(folder, "train-images-idx3-ubyte.gz")) or \
                os.path.exists(os.path.join(folder, "train-images-idx3-ubyte")):
            return folder
    return DEFAULT_FOLDERS[0]


def main():
    options = common.parser(__doc__.splitlines()[0], epochs=10, batch_size=256, lr=1.0)
    options.set_defaults(data=None)
    options.epilog = ("Fashion-MNIST is looked for in --data, then "
                      + ", then ".join(DEFAULT_FOLDERS) + " (apt-get install "
                      "dataset-fashion-mnist); it is not downloaded.")
    args = options.parse_args()
    if args.data is None:
        args.data = default_data_folder()
    common.setup(args)

    model = lenet_batch_norm()
    model.apply(xavier_init)
    optimizer = optim.SGD(model.parameters(), lr=args.lr)
    train_loader, test_loader = common.mnist_loaders(args, flatten=False, normalize=False,
                                                     download=False)
    common.run(args, model, optimizer,
               common.classifier_step(model, nn.CrossEntropyLoss(), optimizer),
               common.classifier_accuracy(model), train_loader, test_loader)


if __name__ == "__main__":
    main()
