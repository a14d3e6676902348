"""Calling a function from several threads at once, for the tests of what must happen only once."""
import threading


def at_once(call, count=8):
    """call() from `count` threads released together by a barrier; their results, in the order they finished."""
    barrier, results = threading.Barrier(count), []

    def run():
        barrier.wait()
        results.append(call())

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
