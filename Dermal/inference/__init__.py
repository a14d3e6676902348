"""The model's inference, from photo bytes to probabilities, heatmap and scope reading.

NumPy's BLAS gets one thread unless the environment says otherwise, set here before NumPy is first imported: its
spare threads spin between the head's small products, which doubled an analysis's CPU on two cores (317 -> 607 ms)
and saved no time, and Render free's 0.1 CPU is one quota for all of a service's threads."""
import os

for _variable in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")
