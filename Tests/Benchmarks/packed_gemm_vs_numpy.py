"""Races Codegen/sinter_gemm_packed.h (Tests/Benchmarks/packed_gemm_bench.c) against numpy's BLAS and
against today's matmul kernel (sinter_gemm.h) on n x n x n float32 products, taking turns in
every round, each run in its own process, and prints a markdown table of the best GFLOP/s of each
over all rounds and the packed GEMM's ratio to numpy, by wall time and by CPU time.

Usage (from the repository root, with a python that has numpy):
    python Tests/Benchmarks/packed_gemm_vs_numpy.py [--rounds 5] [--sizes 512,1024,2048] [--threads 1,2] [--calls C]

Threads: OMP_NUM_THREADS for the bench, OPENBLAS_NUM_THREADS (and OMP_NUM_THREADS) for numpy.
Each measurement is the minimum over the same number of timed calls after 3 warm-up calls
(50 / 20 / 10 calls at n = 512 / 1024 / 2048, as ../shared/peers/bench_numpy.py), made back to
back in one process: calling the libraries in turn inside one process does not work on a loaded
machine, because worker threads that sleep between calls wake up tens of milliseconds late. On a
shared machine absolute numbers drift; the ratio measured side by side, best of several rounds,
is what holds.
"""
import argparse, json, os, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the package root
ITERS = {512: 50, 1024: 20, 2048: 10}

NUMPY_PROGRAM = r"""
import sys, time, numpy as np
n, iters = int(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(0)
a = rng.standard_normal((n, n), dtype=np.float32)
b = rng.standard_normal((n, n), dtype=np.float32)
c = np.empty((n, n), np.float32)
for _ in range(3):
    np.matmul(a, b, out=c)
times, cpu = [], float("inf")
for _ in range(iters):
    t0, c0 = time.perf_counter(), time.process_time()
    np.matmul(a, b, out=c)
    times.append(time.perf_counter() - t0)
    cpu = min(cpu, time.process_time() - c0)
times.sort()
print(times[0] * 1e3, cpu * 1e3)
"""


def build(directory):
    binary = os.path.join(directory, "packed_gemm_bench")
    compiler = os.environ.get("SINTER_CC", "cc")
    subprocess.run([compiler, "-O3", "-march=native", "-std=c11", "-fno-strict-aliasing", "-fopenmp",
                    "-I", os.path.join(ROOT, "Codegen"), os.path.join(ROOT, "Tests", "Benchmarks", "packed_gemm_bench.c"),
                    "-o", binary], check=True)
    return binary


def env_with(threads):
    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = env["OPENBLAS_NUM_THREADS"] = str(threads)
    return env


def run_numpy(n, threads):
    out = subprocess.run([sys.executable, "-c", NUMPY_PROGRAM, str(n), str(ITERS.get(n, 10))], env=env_with(threads),
                         check=True, capture_output=True, text=True).stdout.split()
    return float(out[0]), float(out[1])


def run_sinter(binary, n, threads, old=False):
    out = subprocess.run([binary, str(n), str(n), str(n), str(ITERS.get(n, 10)), "0", "0"] + (["old"] if old else []),
                         env=env_with(threads), check=True, capture_output=True, text=True).stdout
    record = json.loads(out)
    if record["check"] != "ok":
        sys.exit(f"packed_gemm_bench computed a wrong product at n={n}: {out}")
    return (record["min_ms"], record["min_cpu_ms"]), record


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sizes", default="512,1024,2048")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--calls", type=int, help="timed calls per run, every size (default 50 / 20 / 10)")
    args = parser.parse_args()
    if args.calls:
        ITERS.update({n: args.calls for n in [int(s) for s in args.sizes.split(",")]})
    sizes = [int(s) for s in args.sizes.split(",")]
    thread_counts = [int(t) for t in args.threads.split(",")]
    best = {}
    tile = None
    with tempfile.TemporaryDirectory() as directory:
        binary = build(directory)
        for r in range(args.rounds):
            for threads in thread_counts:
                for n in sizes:
                    order = ["numpy", "packed", "window"]
                    order = order[r % 3:] + order[:r % 3]
                    for who in order:
                        if who == "numpy":
                            ms = run_numpy(n, threads)
                        elif who == "window":
                            ms, _ = run_sinter(binary, n, threads, old=True)
                        else:
                            ms, record = run_sinter(binary, n, threads)
                            tile = f"{record['mr']}x{record['nr']}, kc {record['kc']}"
                        key = (who, threads, n)
                        old_wall, old_cpu = best.get(key, (float("inf"), float("inf")))
                        best[key] = (min(old_wall, ms[0]), min(old_cpu, ms[1]))
                        print(f"round {r + 1} threads {threads} n {n} {who}: {ms[0]:.2f} ms, cpu {ms[1]:.2f} ms",
                              file=sys.stderr, flush=True)
    print(f"Best of {args.rounds} rounds taking turns (tile {tile}). GFLOP/s = 2 n^3 / least wall time of one call;")
    print("per CPU-s: 2 n^3 / least CPU time of the process (all threads, spinning included) for one call.\n")
    print("| threads | n | numpy (OpenBLAS) | packed GEMM | packed / numpy | today's kernel (sinter_gemm.h) "
          "| numpy per CPU-s | packed per CPU-s | packed / numpy per CPU-s |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for threads in thread_counts:
        for n in sizes:
            flop = 2.0 * n ** 3
            (w_np, c_np), (w_si, c_si), (w_old, _) = (best[(who, threads, n)] for who in ("numpy", "packed", "window"))
            print(f"| {threads} | {n} | {flop / w_np / 1e6:.1f} | {flop / w_si / 1e6:.1f} | {100 * w_np / w_si:.0f}% "
                  f"| {flop / w_old / 1e6:.1f} | {flop / c_np / 1e6:.1f} | {flop / c_si / 1e6:.1f} | {100 * c_np / c_si:.0f}% |")


if __name__ == "__main__":
    main()
