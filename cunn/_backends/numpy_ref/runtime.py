"""The reference runs wherever NumPy runs its own threads; the count is only recorded."""

__all__ = ["set_num_threads", "get_num_threads"]

_threads = 1


def set_num_threads(threads):
    global _threads
    _threads = int(threads)


def get_num_threads():
    return _threads
