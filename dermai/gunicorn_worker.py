"""Gunicorn's gthread worker, with a connection's last goodbye off the loop that accepts every connection.

Gunicorn 27 closes a connection that will not be kept alive (the client asked `Connection: close`, or an error)
the RFC 9112 way: it shuts its side, then reads until the client closes too, for up to 2 s, so that unread request
bytes do not make the kernel reset the answer. It does this on the worker's main thread, the one that accepts
connections and watches the kept-alive ones: a client that reads its answer and keeps the socket open (a script
following a 503's Retry-After with the response still open, a phone whose link stalls) froze accepting for 2 s each,
and 31 busy answers in a crowd of 40 held /health/ unanswered for 50 s (Render restarts such an instance). Here the
same lingering close runs on a small pool of its own threads.
"""
from concurrent.futures import ThreadPoolExecutor

from gunicorn.workers import gthread

# Closes lingering at once; more wait their turn on a socket that is already shut for writing (a file descriptor
# each, nothing else). Each lingers at most 2 s, so 8 threads close 4 connections a second whatever the clients do.
LINGERING_CLOSES = 8


class ThreadWorker(gthread.ThreadWorker):
    """render.yaml's worker class: gthread, but connections that end are closed on the `closer` pool."""

    def init_process(self):
        self.closer = ThreadPoolExecutor(max_workers=LINGERING_CLOSES, thread_name_prefix="close")
        super().init_process()  # runs the worker's loop until it exits

    def finish_request(self, conn, fs):
        """As gthread's, except that a connection the request ended (its handler said so: False) lingers on the
        closer pool instead of on this, the main, thread."""
        if fs.cancelled() or fs.exception() is not None or fs.result() is not False:
            return super().finish_request(conn, fs)
        self.nr_conns -= 1
        self.closer.submit(conn.close, graceful=True)
