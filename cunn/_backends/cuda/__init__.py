"""The cuda backend: every kernel of the contract (cunn/_backends/interface.py) on device
arrays (array.py), through the CUDA runtime (runtime.py: cunn._C.cuda, or a simulator in
tests). One module per kernel family, as in the cpu backend; where the runtime has no
direct kernel the family composes one from the elementwise and reduce kernels."""
NAME = "cuda"

from .gemm import *  # noqa: F401,F403,E402
from .linear_chain import *  # noqa: F401,F403,E402
from .elementwise import *  # noqa: F401,F403,E402
from .activation import *  # noqa: F401,F403,E402
from .softmax import *  # noqa: F401,F403,E402
from .reduce import *  # noqa: F401,F403,E402
from .loss import *  # noqa: F401,F403,E402
from .conv2d import *  # noqa: F401,F403,E402
from .pool import *  # noqa: F401,F403,E402
from .dropout import *  # noqa: F401,F403,E402
from .optim import *  # noqa: F401,F403,E402
from .image_batch import *  # noqa: F401,F403,E402
from .runtime import set_num_threads, get_num_threads  # noqa: F401,E402
from .normalization import *  # noqa: F401,F403,E402
from .avg_pool import *  # noqa: F401,F403,E402
from .smooth_activation import *  # noqa: F401,F403,E402
from .embedding import *  # noqa: F401,F403,E402
