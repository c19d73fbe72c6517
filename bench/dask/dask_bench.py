"""Dask distributed side of the Trellis benchmarks (bench/dask.ts runs this).

Starts a LocalCluster of 2 worker processes with 1 thread each, then times,
excluding cluster start-up:

- map: client.map of N no-op tasks, then gather;
- spawn: one task that submits N no-op children from inside a worker
  (worker_client, which secedes from the worker's thread pool) and gathers them.

Prints one line: "@@bench-result " + JSON.
Usage: /usr/bin/python3 bench/dask/dask_bench.py N
"""
import json
import logging
import sys
import time

from distributed import Client, LocalCluster, worker_client


def noop(i):
    return None


def fanout(n):
    with worker_client() as c:
        futures = c.map(noop, range(n), pure=False)
        c.gather(futures)
    return n


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    logging.getLogger("distributed").setLevel(logging.ERROR)
    import dask
    import distributed

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=logging.ERROR) as cluster:
        with Client(cluster) as client:
            client.wait_for_workers(2)
            t0 = time.perf_counter()
            futures = client.map(noop, range(n), pure=False)
            client.gather(futures)
            map_s = time.perf_counter() - t0
            del futures
            t0 = time.perf_counter()
            client.submit(fanout, n, pure=False).result()
            spawn_s = time.perf_counter() - t0
    result = {"n": n, "mapSeconds": map_s, "spawnSeconds": spawn_s, "dask": dask.__version__, "distributed": distributed.__version__}
    print("@@bench-result " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
