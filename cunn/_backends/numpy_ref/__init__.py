"""The NumPy reference backend: the specification of every kernel and the speed baseline."""

NAME = "numpy"

from .gemm import *  # noqa: F401,F403
from .linear_chain import *  # noqa: F401,F403
from .elementwise import *  # noqa: F401,F403
from .activation import *  # noqa: F401,F403
from .softmax import *  # noqa: F401,F403
from .reduce import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .conv2d import *  # noqa: F401,F403
from .pool import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .optim import *  # noqa: F401,F403
from .image_batch import *  # noqa: F401,F403
from .runtime import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .avg_pool import *  # noqa: F401,F403
from .smooth_activation import *  # noqa: F401,F403
from .embedding import *  # noqa: F401,F403
